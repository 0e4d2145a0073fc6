"""``/v1.0/customer``: the caller's own customer, in production's check order (facts §12).

- GET: a direct (boot) token is 403 DIRECT_ACCESS_NOT_SUPPORTED; then the caller needs
  CustomerAdmin (0x20) or CustomerManager (0x40) on its own customer, or
  ProjectSuperAdmin; a CustomerAgent alone is 403 PERMISSION_DENIED. Access keys count
  as customer admins. A customer the store does not hold is production's backend
  failure: 400 INVALID_ARGUMENT "The request contains invalid data.".
- PUT (and its ``metadata`` and ``billing_account_id`` sub-resources): the body is
  parsed first (the web layer: 400 INVALID_JSON_BODY), then direct (403), then
  CustomerAdmin only: a manager gets 403 PERMISSION_DENIED. PUT writes all seven text
  fields, so an omitted one becomes ""; nothing checks ``webhook_method`` or the email.
  A malformed or nil ``billing_account_id`` is 400 INVALID_ID before any 403.

``webhook_secret`` is never stored: it is derived from the seed and the customer's id
(``webhook_secret``), so a state dump carries none and a restart with the same seed
shows the same one. Only GET shows it.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping
from typing import Any

from . import errors
from .auth import Identity
from .rules import parse_key_id
from .state import State
from .store import (
    CUSTOMER_FIELDS,
    CUSTOMER_TEXT_FIELDS,
    PERMISSION_CUSTOMER_ADMIN,
    PERMISSION_CUSTOMER_MANAGER,
    PERMISSION_PROJECT_SUPER_ADMIN,
    Customer,
)

SECRET_CHARS = 32

_READERS = PERMISSION_CUSTOMER_ADMIN | PERMISSION_CUSTOMER_MANAGER | PERMISSION_PROJECT_SUPER_ADMIN
_WRITERS = PERMISSION_CUSTOMER_ADMIN | PERMISSION_PROJECT_SUPER_ADMIN

#: What a test may set on a customer it adds (the control API, the Python face), and
#: the type each must have (the fields ``store.Customer`` marks ``addable``).
ADDABLE_FIELDS: dict[str, type] = {
    f.name: bool if f.kind == "flag" else str for f in CUSTOMER_FIELDS if f.addable
}


def webhook_secret(seed: int, customer_id: str) -> str:
    """32 characters of base64url: the HMAC-SHA256 of the customer's id under a key
    made from the seed. The same seed and id always give the same secret."""
    mac = hmac.new(f"fakevoipbin:{seed}:webhook-secret".encode(), customer_id.encode(), "sha256")
    return base64.urlsafe_b64encode(mac.digest()).decode("ascii")[:SECRET_CHARS]


def check_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The customer fields a test gives, checked (a ValueError names the first bad one)."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        kind = ADDABLE_FIELDS.get(name)
        if kind is None:
            raise ValueError(
                f"unknown customer field {name!r}; expected one of {', '.join(ADDABLE_FIELDS)}"
            )
        if type(value) is not kind:
            what = "true or false" if kind is bool else "a string"
            raise ValueError(f"customer field {name!r} must be {what}")
        if isinstance(value, str) and len(value) > 255:
            raise ValueError(f"customer field {name!r} must be at most 255 characters")
        out[name] = value
    return out


# --- who may do what ---------------------------------------------------------


def _refuse_direct(identity: Identity) -> None:
    if identity.kind == "direct":
        raise errors.ApiError(errors.DIRECT_ACCESS_NOT_SUPPORTED)


def _require(identity: Identity, bits: int) -> None:
    if not identity.permission & bits:
        raise errors.ApiError(errors.PERMISSION_DENIED)


def _own(state: State, identity: Identity) -> Customer:
    customer = state.store.customers.get(identity.customer_id)
    if customer is None:  # production's customer-manager finds nothing: a bare 400
        raise errors.ApiError(errors.INVALID_DATA)
    return customer


# --- the operations ----------------------------------------------------------


def get_customer(state: State, identity: Identity) -> tuple[Customer, str]:
    """The caller's customer and its webhook secret (shown by GET alone)."""
    _refuse_direct(identity)
    _require(identity, _READERS)
    with state.lock:
        customer = _own(state, identity)
    return customer, webhook_secret(state.seed, customer.id)


def update_customer(state: State, identity: Identity, body: Mapping[str, Any]) -> Customer:
    """PUT: all seven text fields written, an omitted one as ""; tm_update stamped."""
    _refuse_direct(identity)
    _require(identity, _WRITERS)
    with state.lock:
        customer = _own(state, identity)
        for name in CUSTOMER_TEXT_FIELDS:
            value = body.get(name)
            setattr(customer, name, value if isinstance(value, str) else "")
        customer.tm_update = state.clock.stamp()
        state.touch()
    return customer


def update_metadata(state: State, identity: Identity, rtp_debug: bool | None) -> Customer:
    """PUT /customer/metadata: ``rtp_debug`` (missing means false)."""
    _refuse_direct(identity)
    _require(identity, _WRITERS)
    with state.lock:
        customer = _own(state, identity)
        customer.rtp_debug = rtp_debug is True
        customer.tm_update = state.clock.stamp()
        state.touch()
    return customer


def parse_billing_account_id(value: Any) -> str:
    """The canonical id for any spelling gofrs/uuid reads (as a key id); anything else,
    the nil UUID or a missing id is 400 INVALID_ID."""
    bad = errors.ApiError(
        errors.INVALID_ID,
        [errors.violation("billing_account_id", "format", "billing_account_id must be a UUID")],
    )
    if not isinstance(value, str) or not value:
        raise bad
    try:
        return parse_key_id(value)
    except errors.ApiError:
        raise bad from None


def update_billing_account(state: State, identity: Identity, value: Any) -> Customer:
    """PUT /customer/billing_account_id: the id's form first (400), then direct and
    permission (403). Production also asks the billing manager whether the account is
    the customer's; the fake holds no billing accounts and takes any well-formed id."""
    account = parse_billing_account_id(value)
    _refuse_direct(identity)
    _require(identity, _WRITERS)
    with state.lock:
        customer = _own(state, identity)
        customer.billing_account_id = account
        customer.tm_update = state.clock.stamp()
        state.touch()
    return customer
