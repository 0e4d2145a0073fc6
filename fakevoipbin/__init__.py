"""fakevoipbin: a local, deterministic fake of the VoIPbin access-key API.

The public names are imported lazily, on first use, so ``import fakevoipbin`` stays
cheap for the pytest plugin and the command line (it loads neither Starlette nor
uvicorn, jsonschema or Hypothesis):

- ``FakeVoipbin``: the Python face (``fakevoipbin.testing``)
- ``Entry``: one journal entry (``fakevoipbin.core.journal``)
- ``FaultRule``, ``FaultError``: a fault rule, and why one was refused
  (``fakevoipbin.core.faults``)
- ``Options``: the settings of one fake (``fakevoipbin.options``)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .about import PRODUCTION_COMMIT, __version__

if TYPE_CHECKING:
    from .core.faults import FaultError, FaultRule
    from .core.journal import Entry
    from .options import Options
    from .testing import FakeVoipbin

__all__ = [
    "PRODUCTION_COMMIT",
    "Entry",
    "FakeVoipbin",
    "FaultError",
    "FaultRule",
    "Options",
    "__version__",
]

#: Where each lazily imported name lives.
_LAZY = {
    "FakeVoipbin": ".testing",
    "Entry": ".core.journal",
    "FaultRule": ".core.faults",
    "FaultError": ".core.faults",
    "Options": ".options",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fakevoipbin' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
