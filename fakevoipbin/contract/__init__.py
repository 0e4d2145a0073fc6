"""Contract checks for VoIPbin clients and servers.

- ``AccessKeyContract`` (``make_machine``): a Hypothesis state machine that checks the
  access-key API's rules (and ``/customer``'s, where it is served) against any server
  (``Target``): the fake, the real API, or someone else's fake. ``fakevoipbin verify``
  runs it.
- ``ClientReport``: what a client's tests exercised against the fake and where they
  broke the spec. ``fakevoipbin run`` prints it. It lives in ``checks/report.py``,
  below the faces (the proxy writes it too); it is named here as it always was.
"""

from ..checks.report import ClientReport
from .machine import RULES, AccessKeyContract, Recorder, make_machine
from .target import Target
from .verify import verify

__all__ = [
    "RULES",
    "AccessKeyContract",
    "ClientReport",
    "Recorder",
    "Target",
    "make_machine",
    "verify",
]
