"""The customer's fields are declared once (``store.Customer``, with the markers of
``core/customer_fields.py``), and every other shape of a customer derives from that
declaration: the answer, the fixture schema, the dump and its schema, the recording,
PUT's text fields and what a test may set. A customer with every declared field set
goes fixture → state → dump → load → answer → recording → fixture and comes back the
same."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
import yaml

from fakevoipbin.assemble import build_state
from fakevoipbin.core import admin, customer_fields, views
from fakevoipbin.core.customer_fields import CustomerField, value_at
from fakevoipbin.core.customers import ADDABLE_FIELDS, webhook_secret
from fakevoipbin.core.formats import NIL_UUID, UUID_PATTERN
from fakevoipbin.core.profiles import get_profile
from fakevoipbin.core.store import CUSTOMER_FIELDS, CUSTOMER_TEXT_FIELDS, Customer
from fakevoipbin.fixtures import _SCHEMA as FIXTURE_SCHEMA
from fakevoipbin.fixtures import parse_fixtures
from fakevoipbin.options import Options
from fakevoipbin.proxy.record import RECORDED_FIELDS, Recording
from fakevoipbin.spec import default_spec

from ..conftest import NOW

#: Production's key order of the customer object (bin-customer-manager's
#: WebhookMessage), as tests/api/test_customer.py pins it on the wire.
PRODUCTION_ORDER = [
    "id",
    "name",
    "detail",
    "email",
    "phone_number",
    "address",
    "webhook_method",
    "webhook_uri",
    "billing_account_id",
    "metadata",
    "email_verified",
    "status",
    "identity_verification_status",
    "tm_deletion_scheduled",
    "tm_create",
    "tm_update",
    "tm_delete",
]
#: What a fixture file's customer holds besides its fields.
FIXTURE_OWN = ["created_ago", "keys", "users"]
#: The indexes ``store.Customer`` keeps beside its fields.
INDEXES = ["live", "by_create", "version"]
CUSTOMER_ID = "7d2f0c3e-1a4b-4c5d-8e6f-9a0b1c2d3e4f"
ACCOUNT = "62e2b3f4-5a6b-4c7d-8e9f-0a1b2c3d4e5f"


def tops(fields: tuple[CustomerField, ...]) -> list[str]:
    """The top-level keys the fields take in a JSON object, in order."""
    return list(dict.fromkeys(f.path[0] for f in fields))


def answer_keys(profile: str = "docs") -> list[str]:
    """The answer's keys for a customer with every text field set, secret included."""
    customer = Customer(id=CUSTOMER_ID, **dict.fromkeys(CUSTOMER_TEXT_FIELDS, "x"))
    view = views.customer_view(get_profile(profile), customer, webhook_secret(0, CUSTOMER_ID))
    return list(view)


# --- every shape holds the declared fields -------------------------------------------


def test_the_declaration_is_store_customers_fields_in_productions_order() -> None:
    names = [f.name for f in CUSTOMER_FIELDS]
    assert names + INDEXES == [f.name for f in dataclasses.fields(Customer)]
    assert tops(tuple(f for f in CUSTOMER_FIELDS if f.view)) == PRODUCTION_ORDER
    assert {f.kind for f in CUSTOMER_FIELDS} <= set(customer_fields.KINDS)
    # Each carries the default a new Customer has.
    blank = Customer(id=CUSTOMER_ID)
    assert all(getattr(blank, f.name) == f.default for f in CUSTOMER_FIELDS if f.kind != "id")


def test_the_answer_shows_the_declared_view_fields_in_order() -> None:
    for name in ("docs", "live"):
        assert answer_keys(name) == [*PRODUCTION_ORDER, "webhook_secret"]
    assert answer_keys() == [*tops(tuple(f for f in CUSTOMER_FIELDS if f.view)), "webhook_secret"]


def test_the_fixture_schema_takes_the_declared_fixture_fields() -> None:
    customer = FIXTURE_SCHEMA["properties"]["customers"]["items"]["properties"]
    fixture = tuple(f for f in CUSTOMER_FIELDS if f.fixture)
    assert list(customer) == tops(fixture) + FIXTURE_OWN
    # A field under metadata: an object that takes the declared ones alone.
    nested = [f for f in fixture if len(f.path) == 2]
    assert nested and all(
        customer[f.path[0]]["additionalProperties"] is False
        and set(customer[f.path[0]]["properties"]) == {g.path[1] for g in nested}
        for f in nested
    )


def test_the_dump_and_its_schema_hold_every_declared_field() -> None:
    state = build_state(Options(now=NOW))
    dumped = admin.dump(state)["customers"]
    names = [f.name for f in CUSTOMER_FIELDS]
    assert dumped and all(list(c) == names for c in dumped)
    schema = admin._DUMP_SCHEMA["properties"]["customers"]["items"]
    assert list(schema["properties"]) == names
    # What a dump needed before the other fields were kept, and no more.
    assert schema["required"] == ["id", "name", "frozen", "tm_deletion_scheduled"]


def test_the_recording_copies_what_the_answer_shows_and_a_fixture_takes() -> None:
    both = [f.name for f in CUSTOMER_FIELDS if f.view and f.fixture and f.kind != "id"]
    assert [f.name for f in RECORDED_FIELDS] == both
    # Nothing the fixture file does not take, and never the secret.
    assert "webhook_secret" not in tops(RECORDED_FIELDS)
    assert not any(f.kind == "stamp" for f in RECORDED_FIELDS)


def test_put_writes_and_tests_set_the_declared_fields() -> None:
    assert tuple(f.name for f in CUSTOMER_FIELDS if f.kind == "text") == CUSTOMER_TEXT_FIELDS
    assert list(ADDABLE_FIELDS) == [*CUSTOMER_TEXT_FIELDS, "email_verified"]
    assert ADDABLE_FIELDS["email_verified"] is bool
    assert all(ADDABLE_FIELDS[f] is str for f in CUSTOMER_TEXT_FIELDS)


def test_the_spec_agrees_with_the_declaration() -> None:
    schemas = default_spec().doc["components"]["schemas"]
    answer = schemas["CustomerFields"]["properties"]
    assert list(answer) == PRODUCTION_ORDER
    assert list(schemas["CustomerUpdate"]["properties"]) == list(CUSTOMER_TEXT_FIELDS)
    for f in CUSTOMER_FIELDS:
        if f.kind == "choice":
            assert answer[f.name]["enum"] == list(f.choices), f.name


# --- one customer round the whole circle --------------------------------------------


def _full_value(f: CustomerField) -> Any:
    """A value for a fixture field that is not its default (the id aside)."""
    if f.kind == "text":
        return f"{f.name} of the full customer"
    if f.kind == "uuid":
        return ACCOUNT
    if f.kind == "flag":
        return not f.default
    if f.kind == "choice":
        return next(c for c in reversed(f.choices) if c != f.default and c != "frozen")
    raise AssertionError(f"no value for a {f.kind} field ({f.name})")


def _full_customer(frozen: bool) -> dict[str, Any]:
    """A fixture file's customer with every field it may set, none at its default but
    ``frozen`` and ``status``, which agree (a frozen customer's status is ``frozen``)."""
    doc: dict[str, Any] = {"id": CUSTOMER_ID}
    for f in CUSTOMER_FIELDS:
        if f.fixture and f.kind != "id" and f.name != "frozen":
            customer_fields.put_at(doc, f.path, _full_value(f))
    doc["frozen"] = frozen
    if frozen:
        doc["status"] = "frozen"
    doc["keys"] = [{"name": "k", "token": "vb_" + "F" * 32}]
    return doc


@pytest.mark.parametrize("frozen", [False, True], ids=["active", "frozen"])
@pytest.mark.parametrize("profile", ["docs", "live"])
def test_every_field_goes_fixture_dump_load_answer_recording_and_back(
    profile: str, frozen: bool
) -> None:
    full = _full_customer(frozen)
    state = build_state(Options(profile=profile, now=NOW))
    state.fixtures = parse_fixtures({"customers": [full]})
    state.reset()
    customer = state.store.customers[CUSTOMER_ID]
    for f in CUSTOMER_FIELDS:
        if f.fixture and f.kind != "id":
            assert getattr(customer, f.name) == value_at(full, f.path), f.name
    assert (customer.tm_deletion_scheduled is not None) is frozen

    # Dumped as JSON, loaded into another fake: the same customer, field by field.
    dumped = json.loads(json.dumps(admin.dump(state)))
    other = build_state(Options(profile=profile, now=NOW))
    admin.load(other, dumped)
    loaded = other.store.customers[CUSTOMER_ID]
    assert [getattr(loaded, f.name) for f in CUSTOMER_FIELDS] == [
        getattr(customer, f.name) for f in CUSTOMER_FIELDS
    ]

    # The answer shows each fixture field where the file had it.
    secret = webhook_secret(other.seed, CUSTOMER_ID)
    answer = views.customer_view(other.profile, loaded, secret)
    assert list(answer) == [*PRODUCTION_ORDER, "webhook_secret"]
    for f in CUSTOMER_FIELDS:
        if f.fixture and f.view:
            assert value_at(answer, f.path) == value_at(full, f.path), f.name
    assert answer == views.customer_view(state.profile, customer, secret)

    # Recorded from that answer, the fixture file holds the same fields again.
    rec = Recording()
    rec.observe("GetCustomer", 200, json.loads(json.dumps(answer)), state.clock.now_us())
    [again] = yaml.safe_load(rec.fixtures_text(1, state.clock.now_us(), "u"))["customers"]
    for f in RECORDED_FIELDS:
        assert value_at(again, f.path) == value_at(full, f.path), f.name
    assert "webhook_secret" not in again
    [reparsed] = parse_fixtures({"customers": [again]}).customers
    [first] = state.fixtures.customers
    assert reparsed.fields == first.fields


def test_a_blank_customer_round_trips_with_its_defaults() -> None:
    """A fixture customer with no fields: each declared default, through the dump, and
    a recording of its answer writes none of the unset ones (text, the nil UUID)."""
    state = build_state(Options(now=NOW))
    state.fixtures = parse_fixtures({"customers": [{"id": CUSTOMER_ID}]})
    state.reset()
    blank = Customer(id=CUSTOMER_ID)
    customer = state.store.customers[CUSTOMER_ID]
    for f in CUSTOMER_FIELDS:
        if f.kind not in ("id", "stamp"):
            assert getattr(customer, f.name) == getattr(blank, f.name), f.name
    assert customer.billing_account_id == NIL_UUID
    answer = views.customer_view(state.profile, customer)
    rec = Recording()
    rec.observe("GetCustomer", 200, answer, state.clock.now_us())
    [again] = yaml.safe_load(rec.fixtures_text(1, state.clock.now_us(), "u"))["customers"]
    # Unset text and the nil UUID are left out; a flag or a choice is written as it is.
    assert again == {
        "id": CUSTOMER_ID,
        "name": "",
        "metadata": {"rtp_debug": False},
        "email_verified": False,
        "status": "active",
        "identity_verification_status": "none",
        "created_ago": 0,
    }


# --- a new field, declared once, reaches every shape --------------------------------


def test_a_field_declared_once_reaches_every_derived_shape() -> None:
    """What ``declared`` and the schema helpers make of a made-up declaration: a field
    added with a marker is in the view, the fixture and dump schemas, in order."""

    @dataclasses.dataclass
    class Made:
        id: str = dataclasses.field(metadata=customer_fields.ident())
        nickname: str = dataclasses.field(default="", metadata=customer_fields.text())
        muted: bool = dataclasses.field(
            default=False, metadata=customer_fields.flag(at=("metadata", "muted"))
        )
        tier: str = dataclasses.field(default="a", metadata=customer_fields.choice(("a", "b")))
        tm_seen: int | None = dataclasses.field(default=None, metadata=customer_fields.stamp())
        cache: dict[str, Any] = dataclasses.field(default_factory=dict)

    made = customer_fields.declared(Made)
    assert [(f.name, f.kind, f.default) for f in made] == [
        ("id", "id", None),
        ("nickname", "text", ""),
        ("muted", "flag", False),
        ("tier", "choice", "a"),
        ("tm_seen", "stamp", None),
    ]
    fixture = customer_fields.nested_properties(tuple(f for f in made if f.fixture))
    assert fixture == {
        "id": {"type": "string", "pattern": UUID_PATTERN},
        "nickname": {"type": "string"},
        "metadata": {
            "type": "object",
            "properties": {"muted": {"type": "boolean"}},
            "additionalProperties": False,
        },
        "tier": {"enum": ["a", "b"]},
    }
    assert customer_fields.value_schema(made[-1]) == {"type": ["string", "null"]}
    assert [f.name for f in made if f.addable] == ["nickname"]
