"""Starlette routes that match as gin does: one method per route, the whole path.

``ExactRoute`` is a Starlette ``Route`` that

- matches one method exactly: another method on the path (HEAD too) is no match at
  all, so it reaches the router's default (404 ROUTE_NOT_FOUND), never Starlette's
  405, as production's router has HandleMethodNotAllowed off;
- matches the whole path: a static path by string equality, one with parameters by
  ``fullmatch`` (Starlette's ``$`` would also take a path that ends in a newline);
- hands a match straight to its endpoint (a FULL match of one exact method leaves
  nothing for ``Route.handle`` to check).
"""

from __future__ import annotations

from typing import Any

from starlette._utils import get_route_path
from starlette.routing import Match, Route

from .exchange import Scope

_NO_MATCH: tuple[Match, Scope] = (Match.NONE, {})


class ExactRoute(Route):
    def __init__(self, path: str, endpoint: Any, method: str, name: str | None = None) -> None:
        super().__init__(path, endpoint, methods=[method], name=name)
        self.method = method
        self._static = None if self.param_convertors else path
        self._fullmatch = self.path_regex.fullmatch
        # A FULL match is always of this route's one method: the router may call the
        # endpoint itself (Route.handle would only check the method again).
        self.handle = self.app  # type: ignore[method-assign,assignment]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope.get("method") != self.method or scope["type"] != "http":
            return _NO_MATCH
        path = scope["path"] if not scope.get("root_path") else get_route_path(scope)
        if self._static is not None:
            if path != self._static:
                return _NO_MATCH
            inherited = dict(scope.get("path_params") or ())
            return Match.FULL, {"endpoint": self.endpoint, "path_params": inherited}
        found = self._fullmatch(path)
        if found is None:
            return _NO_MATCH
        params = dict(scope.get("path_params") or ())
        for key, value in found.groupdict().items():
            params[key] = self.param_convertors[key].convert(value)
        return Match.FULL, {"endpoint": self.endpoint, "path_params": params}
