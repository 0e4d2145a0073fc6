"""What a customer field is, for the one declaration of the customer's fields: the
dataclass ``store.Customer``, where each field the API, a fixture file or a dump knows
carries one of the markers below (``ident``, ``text``, ``uuid``, ``flag``, ``choice``,
``stamp``) in production's key order (bin-customer-manager's customer WebhookMessage).
``store.CUSTOMER_FIELDS`` reads them back, and every other shape of a customer derives
from it:

- the answer (``views.customer_view``): the fields marked ``view``, in order;
- a fixture file's customer (``fixtures``): the fields marked ``fixture``, their schema
  and how a parsed file fills a customer;
- a state dump (``admin``): every declared field (all are kept), by attribute name,
  and its schema (the fields marked ``dump_required`` must be there);
- a proxy recording (``proxy.record``): what an answer shows that a fixture file takes;
- PUT /v1.0/customer's fields (the ``text`` ones) and what a test may set on a
  customer it adds (``addable``).

So adding a field is one line in ``store.Customer`` (and its rule, if it has one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, NamedTuple

from .formats import UUID_PATTERN

#: The key of a field's marker in its dataclass field's metadata.
MARKER = "fakevoipbin.customer_field"

#: Production's customer statuses and identity-verification statuses.
STATUSES = ("initial", "active", "frozen", "deleted", "expired")
IDENTITY_VERIFICATION_STATUSES = ("none", "pending", "verified", "rejected")

#: The kinds of field, each with its JSON type and its rules:
#:
#: - ``id``: the customer's own id, a UUID;
#: - ``text``: a string; the answer omits it when empty; PUT /v1.0/customer writes it;
#: - ``uuid``: a UUID (its default, the nil UUID, means "not set");
#: - ``flag``: true or false;
#: - ``choice``: one of the field's ``choices``;
#: - ``stamp``: an instant (µs; None when unset), as the profile's time text or null.
KINDS = ("id", "text", "uuid", "flag", "choice", "stamp")


class CustomerField(NamedTuple):
    """One declared field of a customer."""

    #: One of ``KINDS``.
    kind: str
    #: Where the API's object and a fixture file hold it, when not at the top under
    #: its own name: ``("metadata", "rtp_debug")``.
    at: tuple[str, ...] = ()
    #: The values a ``choice`` may take.
    choices: tuple[str, ...] = ()
    #: Production's answer shows it.
    view: bool = True
    #: A fixture file may set it.
    fixture: bool = True
    #: A dump must carry it (the fields a dump had before the others were kept, so
    #: an older dump still loads).
    dump_required: bool = False
    #: A test may set it on a customer it adds (the control API, the Python face).
    addable: bool = False
    #: The attribute of ``store.Customer`` (the dump's key); set by ``declared``.
    name: str = ""
    #: Its default; set by ``declared``.
    default: Any = None

    @property
    def path(self) -> tuple[str, ...]:
        """Where the API's object and a fixture file hold it."""
        return self.at or (self.name,)


def _mark(field: CustomerField) -> dict[str, Any]:
    return {MARKER: field}


def ident() -> dict[str, Any]:
    """The customer's id: in the answer, optional in a fixture file, required in a dump."""
    return _mark(CustomerField("id", dump_required=True))


def text(dump_required: bool = False) -> dict[str, Any]:
    """A text field; PUT /v1.0/customer writes it and a test may set it."""
    return _mark(CustomerField("text", dump_required=dump_required, addable=True))


def uuid() -> dict[str, Any]:
    return _mark(CustomerField("uuid"))


def flag(
    at: tuple[str, ...] = (),
    view: bool = True,
    dump_required: bool = False,
    addable: bool = False,
) -> dict[str, Any]:
    return _mark(CustomerField("flag", at, view=view, dump_required=dump_required, addable=addable))


def choice(choices: tuple[str, ...]) -> dict[str, Any]:
    return _mark(CustomerField("choice", choices=choices))


def stamp(dump_required: bool = False) -> dict[str, Any]:
    """An instant: in the answer and the dump, never in a fixture file (whose times are
    relative to the clock's start)."""
    return _mark(CustomerField("stamp", fixture=False, dump_required=dump_required))


def declared(cls: type) -> tuple[CustomerField, ...]:
    """The marked fields of a dataclass, in its order, with their names and defaults."""
    out = []
    for f in dataclasses.fields(cls):
        marker = f.metadata.get(MARKER)
        if marker is not None:
            default = None if f.default is dataclasses.MISSING else f.default
            out.append(marker._replace(name=f.name, default=default))
    return tuple(out)


def value_schema(field: CustomerField) -> dict[str, Any]:
    """The JSON Schema of a field's value, as a fixture file or a dump writes it (a
    stamp as the dump's time text or null)."""
    if field.kind in ("id", "uuid"):
        return {"type": "string", "pattern": UUID_PATTERN}
    if field.kind == "text":
        return {"type": "string"}
    if field.kind == "flag":
        return {"type": "boolean"}
    if field.kind == "choice":
        return {"enum": list(field.choices)}
    if field.kind == "stamp":
        return {"type": ["string", "null"]}
    raise ValueError(f"customer field {field.name}: unknown kind {field.kind!r}")


def nested_properties(fields: tuple[CustomerField, ...]) -> dict[str, Any]:
    """JSON Schema ``properties`` for the fields at their paths: a field under
    ``metadata`` gives a ``metadata`` object that takes its declared fields alone."""
    out: dict[str, Any] = {}
    for field in fields:
        top, *rest = field.path
        if len(rest) > 1:
            raise ValueError(f"customer field {field.name}: paths go one object deep")
        if not rest:
            out[top] = value_schema(field)
            continue
        inner = out.setdefault(
            top, {"type": "object", "properties": {}, "additionalProperties": False}
        )
        inner["properties"][rest[0]] = value_schema(field)
    return out


#: What ``value_at`` gives for a path an object does not hold.
ABSENT: Any = object()


def value_at(obj: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at ``path`` in a JSON object, or ``ABSENT`` (a step that is not an
    object, or a key that is missing)."""
    value: Any = obj
    for step in path:
        if not isinstance(value, dict) or step not in value:
            return ABSENT
        value = value[step]
    return value


def put_at(obj: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set ``value`` at ``path`` (an object made for each step before the last)."""
    for step in path[:-1]:
        obj = obj.setdefault(step, {})
    obj[path[-1]] = value
