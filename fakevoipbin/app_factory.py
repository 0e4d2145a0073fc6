"""Build a ready fake from options: the one place the faces assemble the core."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .core.clock import Clock, parse_instant
from .core.profiles import get_profile
from .core.state import State
from .fixtures import load_fixtures
from .spec import Spec, default_spec
from .web.app import Application

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8088


@dataclass(frozen=True)
class Options:
    profile: str = "docs"
    seed: int = 0
    fixtures: str | Path | None = None
    #: An RFC 3339 instant: the clock starts there, frozen. None: real time.
    now: str | None = None
    response_validation: str = "strict"
    access_log: bool = False
    #: Emulate production's rate limits on the fake's clock.
    rate_limit: bool = False
    #: Serve the control API (/_fake/); with a token, it requires X-Fake-Control-Token.
    control: bool = True
    control_token: str | None = None


def build_state(options: Options) -> State:
    clock = Clock() if options.now is None else Clock(parse_instant(options.now), frozen=True)
    return State(
        get_profile(options.profile),
        options.seed,
        load_fixtures(options.fixtures),
        clock,
        rate_limit=options.rate_limit,
    )


def build(options: Options, spec: Spec | None = None) -> Application:
    return Application(
        build_state(options),
        spec or default_spec(),
        response_validation=options.response_validation,
        access_log=options.access_log,
        control=options.control,
        control_token=options.control_token,
    )
