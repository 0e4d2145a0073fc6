"""Build a ready fake from ``Options``: the one place the faces assemble the core and
the web app (``serve``, ``run``, ``FakeVoipbin``, the plugin, the bench, the tests)."""

from __future__ import annotations

from .core.clock import Clock, parse_instant
from .core.profiles import get_profile
from .core.state import State
from .fixtures import load_fixtures
from .options import Options
from .spec import Spec, default_spec
from .web.app import WebApp
from .web.app import build_app as build_web_app


def new_clock(options: Options) -> Clock:
    """Real time, or frozen at ``options.now``."""
    return Clock() if options.now is None else Clock(parse_instant(options.now), frozen=True)


def build_state(options: Options) -> State:
    return State(
        get_profile(options.profile),
        options.seed,
        load_fixtures(options.fixtures),
        new_clock(options),
        rate_limit=options.rate_limit,
    )


def reconfigure(state: State, options: Options) -> None:
    """Give a running fake's state the options' profile, seed, clock, fixtures and rate
    limits. The fixtures load first, so a bad file leaves the state untouched."""
    state.reconfigure(
        get_profile(options.profile),
        options.seed,
        load_fixtures(options.fixtures),
        new_clock(options),
        options.rate_limit,
    )


def build_app(state: State, options: Options, spec: Spec | None = None) -> WebApp:
    """The web app over ``state``, with the options' validation, logging and control."""
    return build_web_app(
        state,
        spec or default_spec(),
        response_validation=options.response_validation,
        access_log=options.access_log,
        control=options.control,
        control_token=options.control_token,
    )


def build(options: Options, spec: Spec | None = None) -> WebApp:
    """A whole fake from its options: state (fixtures loaded) and web app."""
    return build_app(build_state(options), options, spec)
