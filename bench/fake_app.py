"""The fake as the bench serves it: default fixtures, validation on, journal on, no
access log (uvicorn's is off too)."""

from __future__ import annotations

from fakevoipbin.assemble import build
from fakevoipbin.options import Options

app = build(Options(response_validation="strict", access_log=False))
