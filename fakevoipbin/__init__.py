"""fakevoipbin: a local, deterministic fake of the VoIPbin access-key API.

``FakeVoipbin`` (the Python face) is imported lazily, so ``import fakevoipbin`` stays
cheap for the pytest plugin and the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .about import PRODUCTION_COMMIT, __version__

if TYPE_CHECKING:
    from .testing import FakeVoipbin

__all__ = ["FakeVoipbin", "PRODUCTION_COMMIT", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "FakeVoipbin":
        from .testing import FakeVoipbin

        return FakeVoipbin
    raise AttributeError(f"module 'fakevoipbin' has no attribute {name!r}")
