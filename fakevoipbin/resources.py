"""Files the package ships: the OpenAPI spec and the default fixtures.

An installed wheel carries them in ``fakevoipbin/_data`` (copied from the
repository's top level at build time); a source checkout reads them from the
top level directly.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def data_path(name: str) -> Path:
    """The path of ``openapi.yaml`` or ``fixtures/<file>``, installed or in a checkout."""
    packaged = Path(str(resources.files("fakevoipbin"))) / "_data" / name
    if packaged.exists():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.exists():
        return checkout
    raise FileNotFoundError(f"fakevoipbin cannot find its {name}: is the package installed whole?")


def spec_path() -> Path:
    return data_path("openapi.yaml")


def default_fixtures_path() -> Path:
    return data_path("fixtures/default.yaml")
