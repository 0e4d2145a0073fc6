"""fakevoipbin: a local, deterministic fake of the VoIPbin access-key API."""

__version__ = "0.1.0"

#: The production source the ``live`` profile follows (voipbin/monorepo).
PRODUCTION_COMMIT = "2bf22fa4e (2026-08-22)"

__all__ = ["__version__", "PRODUCTION_COMMIT"]
