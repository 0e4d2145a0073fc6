"""Build a ready fake from ``Options``: the one place the faces assemble the core and
the web app (``serve``, ``run``, ``FakeVoipbin``, the plugin, the bench, the tests)."""

from __future__ import annotations

import threading
from typing import Any

from .core.clock import Clock, parse_instant
from .core.profiles import get_profile
from .core.state import State
from .fixtures import load_fixtures
from .options import MARKER, Options, names
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


class Configurator:
    """What a running fake resets to: its options (``base``), with a reset's own
    changes on top for that reset alone. ``FakeVoipbin``, the plugin's marker and the
    control API's ``POST /_fake/reset`` all reset through one of these, so each knows
    what the state runs with (``current``) whichever of them changed it last."""

    def __init__(self, state: State, options: Options) -> None:
        self.state = state
        self.base = options
        self.current = options
        self._lock = threading.Lock()

    def reset(self, **changes: Any) -> Options:
        """Back to seed and fixtures, under ``base`` with ``changes`` (the marker's
        settings: profile, seed, now, fixtures, rate_limit). A setting it does not take
        is a ``TypeError``, a bad value an ``OptionError``, a bad fixtures file a
        ``FixtureError``; after any of them the state is as it was."""
        with self._lock:
            return self._become(self._wanted(changes))

    def configure(self, **changes: Any) -> Options:
        """Make ``changes`` part of what every later reset starts from, and reset."""
        with self._lock:
            wanted = self._become(self._wanted(changes))
            self.base = wanted
            return wanted

    def _wanted(self, changes: dict[str, Any]) -> Options:
        allowed = names(MARKER)
        unknown = sorted(set(changes) - set(allowed))
        if unknown:
            raise TypeError(
                f"unknown option(s) {', '.join(unknown)}; a reset takes {', '.join(allowed)}"
            )
        return self.base.changed(**changes) if changes else self.base

    def _become(self, wanted: Options) -> Options:
        if wanted == self.current:
            self.state.reset()
        else:
            reconfigure(self.state, wanted)  # builds every part first: may raise
            self.current = wanted
        return wanted


def build_app(
    state: State,
    options: Options,
    spec: Spec | None = None,
    configurator: Configurator | None = None,
) -> WebApp:
    """The web app over ``state``, with the options' validation, logging and control
    (whose reset goes through ``configurator``, made here when not given)."""
    configurator = configurator or Configurator(state, options)
    return build_web_app(
        state,
        spec or default_spec(),
        response_validation=options.response_validation,
        access_log=options.access_log,
        control=options.control,
        control_token=options.control_token,
        reset=configurator.reset,
    )


def build(options: Options, spec: Spec | None = None) -> WebApp:
    """A whole fake from its options: state (fixtures loaded) and web app."""
    return build_app(build_state(options), options, spec)
