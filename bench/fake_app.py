"""The fake as the bench serves it: default fixtures, validation on, journal on."""

from __future__ import annotations

from fakevoipbin.app_factory import Options, build

app = build(Options(response_validation="strict"))
