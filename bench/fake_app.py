"""The fake as the bench serves it: default fixtures, validation on, journal on, no
access log (uvicorn's is off too). ``web`` is the whole web face; ``app`` is what
uvicorn serves."""

from __future__ import annotations

from fakevoipbin.assemble import build
from fakevoipbin.options import Options

web = build(Options(response_validation="strict", access_log=False))
app = web.asgi
