"""Every route production serves, and what production runs before it answers (facts §13).

The table is data, ``fakevoipbin/data/routes.tsv``: one row per method and path, as
production's gin router registers them at the commit ``fakevoipbin.about`` names. Each
row has the generated operation name and a group, whose middleware runs first:

- ``v1`` (the ``/v1.0`` group): per-IP limit, credentials (401), customer limit,
  frozen account (403);
- ``auth``, public (login, signup, password-forgot, password-reset, email-verify,
  boot): the per-IP limit only (the auth group's, which login uses);
- ``auth``, protected (unregister, delegate): that per-IP limit, credentials and the
  frozen check, with no customer limit;
- ``docs`` and ``health`` (``/ping``): nothing.

Each group's middleware is data, a tuple of ``Guard`` (``Route.guards``); the web layer
runs each guard as a stage of its own. Then production's handler answers. The fake
answers what it does not model with 501 NOT_MODELLED, except where production's answer
needs no model: the eight ``/v1.0/auth/*`` stubs are 404 ROUTE_NOT_FOUND (pointing to
the root ``/auth/...`` path), and ``/v1.0/customers`` with its sub-routes is 403
PERMISSION_DENIED to all but a project super admin. (``GET /ping``'s pong is a route
of the web layer's own, ``web/app.Ping``, so never reaches ``Route.answer``.)

``lookup`` matches a path as gin does: a static row by equality, a ``{param}`` segment
by any non-empty segment (a static row wins over a parameter at the same place), and a
final ``{filepath}`` or ``{any}`` (a catch-all) by the rest of the path, slashes
included, even an empty rest. The web layer asks only for requests no modelled route
took (``Pipeline.unrouted``), so the modelled routes never pay for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from . import errors

#: The data file, inside the package (so in a wheel too).
TABLE_FILE = Path(__file__).resolve().parent.parent / "data" / "routes.tsv"

#: The final segments gin reads as a catch-all (``/docs/*filepath``, ``/swagger/*any``).
CATCH_ALLS = frozenset({"{filepath}", "{any}"})

GROUPS = ("v1", "auth", "docs", "health")

#: The ``auth`` rows behind Authenticate (cmd/api-manager/main.go's protected half).
PROTECTED_AUTH = frozenset(
    {
        ("POST", "/auth/unregister"),
        ("DELETE", "/auth/unregister"),
        ("POST", "/auth/delegate"),
    }
)


class Guard(Enum):
    """A piece of production's middleware that a route group runs before its handler.
    The web layer runs each as a stage of its pipeline (``web/pipeline.GUARD_STAGES``)."""

    PER_IP_LIMIT = "the per-IP rate limit (the v1 group's, or the auth group's)"
    CREDENTIALS = "Authenticate: who is calling (401 when nobody)"
    CUSTOMER_LIMIT = "the per-customer rate limit"
    FROZEN = "the frozen-account check (403 ACCOUNT_FROZEN)"


#: Production's middleware per kind of row, in the order it runs.
V1_GUARDS = (Guard.PER_IP_LIMIT, Guard.CREDENTIALS, Guard.CUSTOMER_LIMIT, Guard.FROZEN)
PUBLIC_AUTH_GUARDS = (Guard.PER_IP_LIMIT,)
PROTECTED_AUTH_GUARDS = (Guard.PER_IP_LIMIT, Guard.CREDENTIALS, Guard.FROZEN)
NO_GUARDS: tuple[Guard, ...] = ()

#: The ``/v1.0/auth/*`` stubs' 404 messages (bin-api-manager/server: generated
#: operations whose real handlers sit at the root ``/auth/...`` path).
_ELSEWHERE = "The requested endpoint does not exist on this path; use {} (no /v1.0 prefix)."
STUB_MESSAGES = {
    ("POST", "/v1.0/auth/boot"): _ELSEWHERE.format("/auth/boot"),
    ("POST", "/v1.0/auth/signup"): _ELSEWHERE.format("/auth/signup"),
    ("POST", "/v1.0/auth/email-verify"): _ELSEWHERE.format("/auth/email-verify"),
    ("POST", "/v1.0/auth/unregister"): _ELSEWHERE.format("/auth/unregister"),
    ("DELETE", "/v1.0/auth/unregister"): _ELSEWHERE.format("/auth/unregister"),
    ("POST", "/v1.0/auth/password-forgot"): "Use /auth/password-forgot (no /v1.0 prefix).",
    ("GET", "/v1.0/auth/password-reset"): "Use /auth/password-reset (no /v1.0 prefix).",
    ("POST", "/v1.0/auth/password-reset"): "Use /auth/password-reset (no /v1.0 prefix).",
}

#: ``/v1.0/customers`` and everything under it: project super admins only (facts §12).
SUPER_ADMIN_ONLY = "/v1.0/customers"


class Route(NamedTuple):
    """One row of the table. ``path`` is OpenAPI style (``/v1.0/calls/{id}``)."""

    method: str
    path: str
    operation: str
    group: str

    @property
    def guards(self) -> tuple[Guard, ...]:
        """The middleware production runs for this row before its handler, in order."""
        if self.group == "v1":
            return V1_GUARDS
        if self.group == "auth":
            if (self.method, self.path) in PROTECTED_AUTH:
                return PROTECTED_AUTH_GUARDS
            return PUBLIC_AUTH_GUARDS
        return NO_GUARDS

    @property
    def login_limited(self) -> bool:
        """Whether the per-IP limit is the auth group's (login's) rather than v1's."""
        return self.group == "auth"

    @property
    def super_admin_only(self) -> bool:
        path = self.path
        return path == SUPER_ADMIN_ONLY or path.startswith(SUPER_ADMIN_ONLY + "/")

    def answer(self, super_admin: bool) -> errors.ApiError:
        """What the fake answers once the middleware has let the request through:
        a stub's 404, the customers' 403 unless the caller is a project super admin
        (``Identity.is_super_admin``), else 501."""
        stub = STUB_MESSAGES.get((self.method, self.path))
        if stub is not None:
            return errors.ApiError(errors.route_not_found(stub))
        if self.super_admin_only and not super_admin:
            return errors.ApiError(errors.PERMISSION_DENIED)
        return errors.ApiError(errors.not_modelled(self.method, self.path))


class TableError(ValueError):
    """A row of the table that cannot be read (a broken copy of the data file)."""


def _pattern(path: str) -> tuple[str | None, ...]:
    """A path's segments after the leading ``/``, None for each ``{param}``."""
    return tuple(None if s.startswith("{") else s for s in path[1:].split("/"))


class RouteTable:
    """The rows, indexed for a lookup by method and path: static paths in a dict, paths
    with parameters by method and segment count, catch-alls by method."""

    def __init__(self, rows: Iterable[Route]) -> None:
        self.rows: tuple[Route, ...] = tuple(rows)
        self._static: dict[tuple[str, str], Route] = {}
        # Paths with parameters by method, segment count and their first two segments
        # (static in every row production has; a row with a parameter there is kept
        # under None, None and tried after).
        self._params: dict[
            tuple[str, int, str | None, str | None], list[tuple[tuple[str | None, ...], Route]]
        ] = {}
        self._catch_alls: dict[str, list[tuple[str, Route]]] = {}
        self._by_operation: dict[tuple[str, str], Route] = {}
        for row in self.rows:
            if (row.method, row.operation) in self._by_operation:
                raise TableError(f"{row.method} {row.operation} is in the table twice")
            self._by_operation[(row.method, row.operation)] = row
            head, _, last = row.path.rpartition("/")
            if last in CATCH_ALLS:
                self._catch_alls.setdefault(row.method, []).append((head + "/", row))
            elif "{" not in row.path:
                self._static[(row.method, row.path)] = row
            else:
                pattern = _pattern(row.path)
                first, second = (pattern + (None,))[:2]
                if first is None or second is None:
                    first = second = None
                key = (row.method, len(pattern), first, second)
                self._params.setdefault(key, []).append((pattern, row))
        # gin's priority: at the first segment where two rows differ, the static one wins.
        for candidates in self._params.values():
            candidates.sort(key=lambda c: tuple(s is None for s in c[0]))
        for prefixes in self._catch_alls.values():
            prefixes.sort(key=lambda c: -len(c[0]))

    def __iter__(self) -> Iterator[Route]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def lookup(self, method: str, path: str) -> Route | None:
        """The row ``method`` and ``path`` name, or None (gin's match, case-sensitive,
        no trailing-slash fix: the caller redirects)."""
        found = self._static.get((method, path))
        if found is not None:
            return found
        if path[:1] != "/":
            return None
        segments = path[1:].split("/")
        count = len(segments)
        params = self._params
        if params:
            found = None
            if count >= 2:
                found = _first(params.get((method, count, segments[0], segments[1])), segments)
            if found is None:
                found = _first(params.get((method, count, None, None)), segments)
            if found is not None:
                return found
        for prefix, row in self._catch_alls.get(method, ()):
            if path.startswith(prefix):
                return row
        return None

    def operation(self, method: str, operation: str) -> Route | None:
        """The row of ``operation`` (names are unique per method)."""
        return self._by_operation.get((method, operation))

    def operations(self) -> frozenset[str]:
        return frozenset(op for _method, op in self._by_operation)


def _first(
    candidates: list[tuple[tuple[str | None, ...], Route]] | None, segments: list[str]
) -> Route | None:
    """The first candidate whose pattern the segments fit: a static segment equal, a
    parameter non-empty."""
    if not candidates:
        return None
    for pattern, row in candidates:
        for want, got in zip(pattern, segments, strict=True):  # same count, by the index
            if want is None:
                if not got:  # a parameter takes a non-empty segment
                    break
            elif got != want:
                break
        else:
            return row
    return None


def parse(text: str) -> RouteTable:
    """The table from the data file's text: ``#`` lines are comments, the first other
    line is the header, then one tab-separated row per route."""
    rows: list[Route] = []
    header_seen = False
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if not header_seen:
            if cells != ["method", "path", "operation", "group"]:
                raise TableError(f"line {number}: the header is not method, path, operation, group")
            header_seen = True
            continue
        if len(cells) != 4 or not all(cells):
            raise TableError(f"line {number}: not four tab-separated cells: {line!r}")
        method, path, operation, group = cells
        if not method.isupper() or not path.startswith("/") or group not in GROUPS:
            raise TableError(f"line {number}: not a route: {line!r}")
        rows.append(Route(method, path, operation, group))
    if not header_seen:
        raise TableError("the route table has no header")
    return RouteTable(rows)


def table_text() -> str:
    """The packaged data file's text."""
    return TABLE_FILE.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def default_table() -> RouteTable:
    """The packaged table, read once per process."""
    return parse(table_text())
