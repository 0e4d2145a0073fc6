"""Production's error catalogue: each error is (HTTP code, status, reason, message).

Every error a client can meet is named here once; the rules raise them and the
web layer renders them in the API's envelope.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class ErrorKind:
    http: int
    status: str
    reason: str
    message: str


INVALID_ID = ErrorKind(
    400, "INVALID_ARGUMENT", "INVALID_ID", "The provided id is not a valid UUID."
)
INVALID_JSON_BODY = ErrorKind(
    400, "INVALID_ARGUMENT", "INVALID_JSON_BODY", "The request body is not valid JSON."
)
INVALID_REQUEST = ErrorKind(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "The request is invalid.")
INVALID_DATA = ErrorKind(
    400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "The request contains invalid data."
)
REQUEST_BODY_TOO_LARGE = ErrorKind(
    413, "INVALID_ARGUMENT", "REQUEST_BODY_TOO_LARGE", "The request body is too large."
)
REQUEST_TIMEOUT = ErrorKind(
    408, "INVALID_ARGUMENT", "REQUEST_TIMEOUT", "The request body did not arrive in time."
)
AUTHENTICATION_REQUIRED = ErrorKind(
    401, "UNAUTHENTICATED", "AUTHENTICATION_REQUIRED", "Authentication is required."
)
INVALID_CREDENTIALS = ErrorKind(
    401, "UNAUTHENTICATED", "INVALID_CREDENTIALS", "The provided credentials are invalid."
)
PERMISSION_DENIED = ErrorKind(
    403,
    "PERMISSION_DENIED",
    "PERMISSION_DENIED",
    "You do not have permission to access this resource.",
)
DIRECT_ACCESS_NOT_SUPPORTED = ErrorKind(
    403,
    "PERMISSION_DENIED",
    "DIRECT_ACCESS_NOT_SUPPORTED",
    "Direct access is not supported for this endpoint.",
)
ACCOUNT_FROZEN = ErrorKind(
    403, "PERMISSION_DENIED", "ACCOUNT_FROZEN", "This account is frozen. Contact support."
)
AGENT_AUTH_REQUIRED = ErrorKind(
    403,
    "PERMISSION_DENIED",
    "AGENT_AUTH_REQUIRED",
    "This endpoint requires agent authentication.",
)
AGENT_NOT_FOUND = ErrorKind(404, "NOT_FOUND", "AGENT_NOT_FOUND", "The agent was not found.")
RESOURCE_NOT_FOUND = ErrorKind(
    404, "NOT_FOUND", "RESOURCE_NOT_FOUND", "The requested resource was not found."
)
ACCESSKEY_NOT_FOUND = ErrorKind(
    404, "NOT_FOUND", "ACCESSKEY_NOT_FOUND", "The access key was not found."
)
ROUTE_NOT_FOUND = ErrorKind(
    404, "NOT_FOUND", "ROUTE_NOT_FOUND", "The requested endpoint does not exist."
)
STATE_INVALID = ErrorKind(
    409,
    "FAILED_PRECONDITION",
    "STATE_INVALID",
    "The operation is invalid for the current resource state.",
)
RATE_LIMIT_EXCEEDED = ErrorKind(
    429,
    "RESOURCE_EXHAUSTED",
    "RATE_LIMIT_EXCEEDED",
    "Too many requests. Please try again later.",
)
#: A bad ``X-Fake-Fault`` header (the fake's own; the message says what is wrong).
INVALID_FAULT_HEADER = ErrorKind(
    400, "INVALID_ARGUMENT", "INVALID_FAULT_HEADER", "The X-Fake-Fault header is invalid."
)
INTERNAL = ErrorKind(500, "INTERNAL", "INTERNAL", "An internal error occurred.")
UNAVAILABLE = ErrorKind(503, "UNAVAILABLE", "UNAVAILABLE", "The service is unavailable.")
#: The fake's own answer (not production's) for a route production serves and the fake
#: does not model; ``not_modelled`` names the route in the message.
NOT_MODELLED = ErrorKind(
    501,
    "UNIMPLEMENTED",
    "NOT_MODELLED",
    "fakevoipbin does not model this route; production serves it.",
)


def invalid_request_parameter(name: str) -> ErrorKind:
    """The binding error production gives for a query parameter it cannot parse."""
    return ErrorKind(
        400,
        "INVALID_ARGUMENT",
        "INVALID_REQUEST_PARAMETER",
        f'The parameter "{name}" has an invalid format.',
    )


def not_modelled(method: str, path: str) -> ErrorKind:
    """501 NOT_MODELLED naming the route as the route table writes it."""
    return replace(
        NOT_MODELLED, message=f"fakevoipbin does not model {method} {path}; production serves it."
    )


def route_not_found(message: str) -> ErrorKind:
    """ROUTE_NOT_FOUND with a message of its own (the ``/v1.0/auth/*`` stubs')."""
    return replace(ROUTE_NOT_FOUND, message=message)


#: Every kind above, for the spec's reason enum and for tests.
CATALOGUE: tuple[ErrorKind, ...] = (
    INVALID_ID,
    INVALID_JSON_BODY,
    INVALID_REQUEST,
    INVALID_DATA,
    REQUEST_BODY_TOO_LARGE,
    REQUEST_TIMEOUT,
    AUTHENTICATION_REQUIRED,
    INVALID_CREDENTIALS,
    PERMISSION_DENIED,
    DIRECT_ACCESS_NOT_SUPPORTED,
    ACCOUNT_FROZEN,
    AGENT_AUTH_REQUIRED,
    AGENT_NOT_FOUND,
    RESOURCE_NOT_FOUND,
    ACCESSKEY_NOT_FOUND,
    ROUTE_NOT_FOUND,
    STATE_INVALID,
    RATE_LIMIT_EXCEEDED,
    INTERNAL,
    UNAVAILABLE,
    NOT_MODELLED,
)


class ApiError(Exception):
    """An error the API answers in its envelope. ``details`` names fields or causes."""

    def __init__(
        self,
        kind: ErrorKind,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{kind.http} {kind.reason}: {kind.message}")
        self.kind = kind
        self.details = details
        self.headers = headers or {}


class LoginFailed(Exception):
    """POST /auth/login refuses with a bare 400 and an empty body, whatever the cause."""


def go_map(entries: Mapping[str, Any]) -> dict[str, Any]:
    """A ``details`` entry as production builds it: a Go ``map[string]any``, whose keys
    encoding/json writes sorted (ACCOUNT_FROZEN's, a 429's ``limited_by``). A Go struct
    would keep its fields' order instead; production's ``details`` hold no struct."""
    return dict(sorted(entries.items()))


def violation(field: str, rule: str, description: str) -> dict[str, Any]:
    """One entry of an error's ``details`` list: which field broke which rule."""
    return {"field": field, "rule": rule, "description": description}
