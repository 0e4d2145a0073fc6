"""The package's version, and the production source the ``live`` profile follows."""

__version__ = "0.1.0"

#: The production source the ``live`` profile follows (voipbin/monorepo).
PRODUCTION_COMMIT = "2bf22fa4e (2026-08-22)"
