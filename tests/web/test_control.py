"""The control API under /_fake/, over HTTP: health, reset, clock, customers, journal,
faults, state, its spec, and its errors (400 INVALID_ARGUMENT naming what was wrong)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from openapi_spec_validator import validate

from fakevoipbin import FakeVoipbin

from ..conftest import NOW, SECOND_CUSTOMER, TUTORIAL_KEY_ID, TUTORIAL_TOKEN

CONTROL_PATHS = {
    "/_fake/health",
    "/_fake/reset",
    "/_fake/clock",
    "/_fake/customers",
    "/_fake/journal",
    "/_fake/faults",
    "/_fake/state",
    "/_fake/ui",
}


@pytest.fixture
def fake() -> Iterator[FakeVoipbin]:
    with FakeVoipbin(seed=4, now=NOW) as f:
        yield f


@pytest.fixture
def ctl(fake: FakeVoipbin) -> Iterator[httpx.Client]:
    """A client on the server's root, over the real socket."""
    with httpx.Client(base_url=fake.base_url, timeout=10) as c:
        yield c


@pytest.fixture
def api(fake: FakeVoipbin) -> Iterator[httpx.Client]:
    """The VoIPbin API as the tutorial's customer, in-process."""
    with fake.client(params={"accesskey": TUTORIAL_TOKEN}) as c:
        yield c


def bad_input(r: httpx.Response) -> str:
    """Assert a control 400 in the envelope; return its message."""
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/json")
    err = r.json()["error"]
    assert err["status"] == "INVALID_ARGUMENT"
    assert err["reason"] == "INVALID_ARGUMENT"
    assert err["request_id"] == r.headers["x-request-id"]
    assert isinstance(err["message"], str) and err["message"]
    return err["message"]  # type: ignore[no-any-return]


# --- health and reset -----------------------------------------------------------------


def test_health(ctl: httpx.Client) -> None:
    r = ctl.get("/_fake/health")
    assert r.status_code == 200
    body = r.json()
    assert body["profile"] == "docs"
    assert body["seed"] == 4
    assert body["clock"] == {"now": NOW, "frozen": True}


def test_health_reports_the_live_profile() -> None:
    with FakeVoipbin(profile="live", seed=9) as fake, httpx.Client(base_url=fake.base_url) as c:
        body = c.get("/_fake/health").json()
    assert (body["profile"], body["seed"]) == ("live", 9)
    assert body["clock"]["frozen"] is False


def test_reset_goes_back_to_seed_and_fixtures(
    fake: FakeVoipbin, ctl: httpx.Client, api: httpx.Client
) -> None:
    first = api.post("/accesskeys", json={"expire": 86400}).json()
    api.delete(f"/accesskeys/{TUTORIAL_KEY_ID}")
    assert ctl.post("/_fake/clock", json={"advance": 500}).status_code == 200
    assert (
        ctl.post("/_fake/faults", json={"operation": "GetAccesskeys", "status": 503}).status_code
        == 200
    )

    r = ctl.post("/_fake/reset")
    assert r.status_code == 200
    assert r.json()["clock"] == {"now": NOW, "frozen": True}
    assert ctl.get("/_fake/faults").json()["faults"] == []
    assert ctl.get("/_fake/journal").json()["entries"] == []
    assert api.get(f"/accesskeys/{first['id']}").status_code == 404
    assert api.get(f"/accesskeys/{TUTORIAL_KEY_ID}").status_code == 200
    again = api.post("/accesskeys", json={"expire": 86400}).json()
    assert (again["id"], again["token"]) == (first["id"], first["token"])


# --- clock ----------------------------------------------------------------------------


def test_clock_read_set_advance_freeze(ctl: httpx.Client) -> None:
    assert ctl.get("/_fake/clock").json() == {"now": NOW, "frozen": True}

    r = ctl.post("/_fake/clock", json={"set": "2027-01-02T03:04:05.000006Z"})
    assert r.status_code == 200
    assert r.json() == {"now": "2027-01-02T03:04:05.000006Z", "frozen": True}
    assert ctl.get("/_fake/clock").json()["now"] == "2027-01-02T03:04:05.000006Z"

    r = ctl.post("/_fake/clock", json={"advance": 86400})
    assert r.json() == {"now": "2027-01-03T03:04:05.000006Z", "frozen": True}
    r = ctl.post("/_fake/clock", json={"advance": -0.5})
    assert r.json()["now"] == "2027-01-03T03:04:04.500006Z"

    r = ctl.post("/_fake/clock", json={"freeze": False})
    assert r.json()["frozen"] is False
    assert ctl.get("/_fake/clock").json()["frozen"] is False
    r = ctl.post("/_fake/clock", json={"freeze": True})
    assert r.json()["frozen"] is True
    frozen_at = r.json()["now"]
    assert ctl.get("/_fake/clock").json()["now"] == frozen_at


def test_clock_set_reaches_the_api(ctl: httpx.Client, api: httpx.Client) -> None:
    # within the tutorial key's year of life
    ctl.post("/_fake/clock", json={"set": "2027-05-06T07:08:09.101112Z"})
    created = api.post("/accesskeys", json={"expire": 86400}).json()
    assert created["tm_create"].startswith("2027-05-06T07:08:09.")


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"set": "yesterday"}, "set"),
        ({"set": 1700000000}, "set"),
        ({"set": "2026-13-45T00:00:00Z"}, "set"),
        ({"advance": "10"}, "advance"),
        ({"advance": True}, "advance"),
        ({"freeze": "yes"}, "freeze"),
        ({"freeze": 1}, "freeze"),
        ({"rewind": 5}, "rewind"),
        pytest.param({"set": "1969-12-31T23:59:59Z"}, "set", id="set-before-range"),
        pytest.param({"set": "9999-12-31T23:59:59Z"}, "set", id="set-after-range"),
        pytest.param({"advance": 1e13}, "advance", id="advance-out-of-range"),
        pytest.param({"advance": 1e308}, "advance", id="advance-past-a-double"),
        pytest.param(
            {"set": "2027-01-02T03:04:05Z", "advance": 1e13}, "advance", id="set-then-advance-out"
        ),
    ],
)
def test_clock_bad_input_names_the_field(
    ctl: httpx.Client, body: dict[str, Any], named: str
) -> None:
    message = bad_input(ctl.post("/_fake/clock", json=body))
    assert named in message, message
    assert ctl.get("/_fake/clock").json() == {"now": NOW, "frozen": True}, "nothing moved"


def test_clock_empty_object_names_the_choices(ctl: httpx.Client) -> None:
    message = bad_input(ctl.post("/_fake/clock", json={}))
    for field in ("set", "advance", "freeze"):
        assert field in message


def test_clock_empty_body_and_non_json(ctl: httpx.Client) -> None:
    message = bad_input(ctl.post("/_fake/clock"))
    assert "body" in message
    message = bad_input(
        ctl.post("/_fake/clock", content=b"not json", headers={"content-type": "application/json"})
    )
    assert "JSON" in message
    message = bad_input(ctl.post("/_fake/clock", json=["advance", 5]))
    assert "object" in message


# --- customers ------------------------------------------------------------------------


def test_add_customer(fake: FakeVoipbin, ctl: httpx.Client) -> None:
    r = ctl.post("/_fake/customers", json={"name": "Acme"})
    assert r.status_code == 200
    body = r.json()
    key = body["accesskey"]
    assert body["customer_id"] == key["customer_id"]
    assert key["token"].startswith("vb_") and len(key["token"]) == 35
    assert key["token_prefix"] == key["token"][:11]

    listed = ctl.get("/v1.0/accesskeys", params={"accesskey": key["token"]})
    assert listed.status_code == 200
    assert [k["id"] for k in listed.json()["result"]] == [key["id"]]
    assert "token" not in listed.json()["result"][0]

    # no body at all is fine too
    r = ctl.post("/_fake/customers")
    assert r.status_code == 200
    assert r.json()["customer_id"] != body["customer_id"]


def test_add_frozen_customer_gets_403_account_frozen(ctl: httpx.Client) -> None:
    r = ctl.post("/_fake/customers", json={"frozen": True})
    assert r.status_code == 200
    assert r.json()["frozen"] is True
    token = r.json()["accesskey"]["token"]
    r = ctl.get("/v1.0/accesskeys", params={"accesskey": token})
    assert r.status_code == 403
    err = r.json()["error"]
    assert (err["status"], err["reason"]) == ("PERMISSION_DENIED", "ACCOUNT_FROZEN")


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"name": 7}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"frozen": "yes"}, "frozen"),
        ({"frozen": 1}, "frozen"),
        ({"expire": "a year"}, "expire"),
        ({"expire": 0}, "expire"),
        ({"expire": 1.5}, "expire"),
        ({"expire": 2**31}, "expire"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_add_customer_bad_input(
    fake: FakeVoipbin, ctl: httpx.Client, body: dict[str, Any], named: str
) -> None:
    before = ctl.get("/_fake/state").content
    message = bad_input(ctl.post("/_fake/customers", json=body))
    assert named in message, message
    assert ctl.get("/_fake/state").content == before


# --- journal --------------------------------------------------------------------------


def test_journal_get_and_delete(ctl: httpx.Client, api: httpx.Client) -> None:
    api.get("/accesskeys")
    api.post("/accesskeys", json={"expire": 86400})
    api.get("/accesskeys/not-a-uuid")

    r = ctl.get("/_fake/journal")
    assert r.status_code == 200
    entries = r.json()["entries"]
    assert [(e["method"], e["operation_id"], e["status"]) for e in entries] == [
        ("GET", "GetAccesskeys", 200),
        ("POST", "PostAccesskeys", 200),
        ("GET", "GetAccesskeysId", 400),
    ]
    assert entries[0]["seq"] < entries[1]["seq"] < entries[2]["seq"], "newest last"
    assert entries[0]["target"] == "/v1.0/accesskeys?accesskey=[REDACTED]"
    assert entries[0]["time"] == NOW
    assert TUTORIAL_TOKEN not in r.text

    r = ctl.delete("/_fake/journal")
    assert r.status_code == 200
    assert r.json()["cleared"] == 3
    assert ctl.get("/_fake/journal").json()["entries"] == []


def test_control_calls_are_not_journaled(fake: FakeVoipbin, ctl: httpx.Client) -> None:
    ctl.get("/_fake/health")
    ctl.get("/_fake/clock")
    ctl.post("/_fake/clock", json={"advance": 1})
    ctl.post("/_fake/clock", json={"bogus": 1})
    ctl.post("/_fake/customers")
    ctl.get("/_fake/faults")
    ctl.post("/_fake/faults", json={"operation": "GetAccesskeys", "status": 500})
    ctl.get("/_fake/state")
    ctl.get("/_fake/openapi.yaml")
    ctl.get("/_fake/nothing")
    ctl.get("/_fake/journal")
    assert fake.journal.entries() == []
    assert ctl.get("/_fake/journal").json()["entries"] == []


def test_journal_after_a_number_gives_the_newer_entries(
    ctl: httpx.Client, api: httpx.Client
) -> None:
    for _ in range(3):
        api.get("/accesskeys")
    whole = ctl.get("/_fake/journal").json()
    assert set(whole) == {"size", "epoch", "entries"}  # the answer without a query
    r = ctl.get("/_fake/journal", params={"after": whole["entries"][0]["seq"]})
    assert r.status_code == 200
    assert r.json() == {
        "size": whole["size"],
        "epoch": whole["epoch"],
        "entries": whole["entries"][1:],
    }
    assert ctl.get("/_fake/journal?after=3").json()["entries"] == []
    assert ctl.get("/_fake/journal?after=0").json() == whole


def test_journal_as_har_is_served_under_the_root_it_was_asked_at(
    fake: FakeVoipbin, ctl: httpx.Client, api: httpx.Client
) -> None:
    from ..core.test_har import valid_har

    created = api.post("/accesskeys", json={"name": "h", "expire": 86400}).json()
    api.get(f"/accesskeys/{created['id']}")
    r = ctl.get("/_fake/journal", params={"format": "har"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    doc = r.json()
    valid_har(doc)
    entries = doc["log"]["entries"]
    assert [e["_operationId"] for e in entries] == ["PostAccesskeys", "GetAccesskeysId"]
    assert entries[1]["request"]["url"] == (
        f"{fake.base_url}/v1.0/accesskeys/{created['id']}?accesskey=[REDACTED]"
    )
    assert [e["startedDateTime"] for e in entries] == [e.time for e in fake.journal.entries()]
    assert TUTORIAL_TOKEN not in r.text and created["token"] not in r.text
    later = ctl.get("/_fake/journal?format=har&after=1").json()
    assert [e["_seq"] for e in later["log"]["entries"]] == [2]
    assert fake.journal.har(root=fake.base_url) == doc


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("after=x", "after"),
        ("after=-1", "after"),
        ("after=1&after=2", "after is given once"),
        ("format=xml", "format is one of json, har"),
        ("since=1", "unknown query parameter(s) since"),
    ],
)
def test_journal_bad_query_is_a_400_naming_it(ctl: httpx.Client, query: str, named: str) -> None:
    assert named in bad_input(ctl.get(f"/_fake/journal?{query}"))


# --- faults ---------------------------------------------------------------------------


def test_faults_add_list_fire_clear(ctl: httpx.Client, api: httpx.Client) -> None:
    r = ctl.post("/_fake/faults", json={"operation": "PostAccesskeys", "status": 503, "times": 2})
    assert r.status_code == 200
    rule = r.json()
    assert rule["operation"] == "PostAccesskeys"
    assert rule["status"] == 503
    assert rule["times"] == 2

    listed = ctl.get("/_fake/faults").json()["faults"]
    assert [(f["id"], f["operation"]) for f in listed] == [(rule["id"], "PostAccesskeys")]

    statuses = [api.post("/accesskeys", json={"expire": 86400}).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert api.get("/accesskeys").status_code == 200

    ctl.post("/_fake/faults", json={"operation": "*", "status": 500, "times": None})
    assert api.get("/accesskeys").status_code == 500
    r = ctl.delete("/_fake/faults")
    assert r.status_code == 200
    assert ctl.get("/_fake/faults").json()["faults"] == []
    assert api.get("/accesskeys").status_code == 200


def test_fault_429_over_control_api(ctl: httpx.Client, api: httpx.Client) -> None:
    ctl.post(
        "/_fake/faults",
        json={
            "operation": "GetAccesskeys",
            "status": 429,
            "retry_after": 3,
            "limited_by": "customer",
        },
    )
    r = api.get("/accesskeys")
    assert r.status_code == 429
    assert r.headers["retry-after"] == "3"
    assert r.json()["error"]["details"] == [{"limited_by": "customer"}]


def test_fault_delay_over_control_api(ctl: httpx.Client, api: httpx.Client) -> None:
    r = ctl.post("/_fake/faults", json={"operation": "GetAccesskeys", "delay_ms": 120})
    assert r.status_code == 200
    r = api.get("/accesskeys")
    assert r.status_code == 200
    assert r.json()["result"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"operation": "DropTables", "status": 503}, "operation"),
        ({"status": 503}, "operation"),
        ({"operation": "PostAccesskeys", "status": 418}, "status"),
        ({"operation": "PostAccesskeys", "status": "503"}, "status"),
        ({"operation": "PostAccesskeys", "status": 503, "when": "now"}, "when"),
        ({"operation": "PostAccesskeys", "status": 503, "times": -1}, "times"),
        ({"operation": "PostAccesskeys", "status": 503, "probability": "half"}, "probability"),
        ({"operation": "PostAccesskeys", "delay_ms": 10**9}, "delay_ms"),
    ],
)
def test_bad_fault_is_a_400_naming_the_field(
    ctl: httpx.Client, body: dict[str, Any], named: str
) -> None:
    message = bad_input(ctl.post("/_fake/faults", json=body))
    assert named in message, message
    assert ctl.get("/_fake/faults").json()["faults"] == []


def test_bad_fault_body_shapes(ctl: httpx.Client) -> None:
    assert "JSON" in bad_input(ctl.post("/_fake/faults", content=b"{operation"))
    assert "object" in bad_input(ctl.post("/_fake/faults", json=[1, 2]))
    bad_input(ctl.post("/_fake/faults"))


# --- state ----------------------------------------------------------------------------


def _busy(api: httpx.Client, ctl: httpx.Client) -> None:
    for i in range(3):
        api.post("/accesskeys", json={"name": f"k{i}", "detail": "d", "expire": 86400 + i})
    made = api.post("/accesskeys", json={"expire": 86400}).json()
    api.delete(f"/accesskeys/{made['id']}")
    api.put(f"/accesskeys/{TUTORIAL_KEY_ID}", json={"name": "renamed"})
    ctl.post("/_fake/customers", json={"name": "extra", "frozen": True})


def test_state_dump_then_load_is_identical(ctl: httpx.Client, api: httpx.Client) -> None:
    _busy(api, ctl)
    first = ctl.get("/_fake/state")
    assert first.status_code == 200
    doc = first.json()
    assert {"customers", "users", "keys", "clock"} <= set(doc)
    assert all("token" not in k for k in doc["keys"])

    r = ctl.put("/_fake/state", json=doc)
    assert r.status_code == 200, r.text
    assert ctl.get("/_fake/state").content == first.content


def test_state_load_restores_an_earlier_dump(ctl: httpx.Client, api: httpx.Client) -> None:
    snapshot = ctl.get("/_fake/state")
    _busy(api, ctl)
    extra = api.post("/accesskeys", json={"expire": 86400}).json()
    assert ctl.get("/_fake/state").content != snapshot.content

    assert ctl.put("/_fake/state", json=snapshot.json()).status_code == 200
    assert ctl.get("/_fake/state").content == snapshot.content
    assert api.get(f"/accesskeys/{extra['id']}").status_code == 404
    renamed = api.get(f"/accesskeys/{TUTORIAL_KEY_ID}").json()
    assert renamed["name"] == "My New Accesskey"
    # fixture keys keep working after a load: their hashes came back
    assert ctl.get("/v1.0/accesskeys", params={"accesskey": TUTORIAL_TOKEN}).status_code == 200


def _damage_missing_field(doc: dict[str, Any]) -> str:
    del doc["keys"][0]["token_hash"]
    return "token_hash"


def _damage_missing_section(doc: dict[str, Any]) -> str:
    del doc["customers"]
    return "customers"


def _damage_token_hash(doc: dict[str, Any]) -> str:
    doc["keys"][0]["token_hash"] = "not-a-sha256"
    return "token_hash"


def _damage_unknown_customer(doc: dict[str, Any]) -> str:
    doc["keys"][-1]["customer_id"] = "00000000-0000-4000-8000-000000000000"
    return "customer"


def _damage_bad_time(doc: dict[str, Any]) -> str:
    doc["keys"][0]["tm_create"] = "last tuesday"
    return "last tuesday"


def _damage_unknown_field(doc: dict[str, Any]) -> str:
    doc["keys"][0]["token"] = "vb_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    return "token"


@pytest.mark.parametrize(
    "damage",
    [
        _damage_missing_field,
        _damage_missing_section,
        _damage_token_hash,
        _damage_unknown_customer,
        _damage_bad_time,
        _damage_unknown_field,
    ],
)
def test_damaged_state_is_refused_and_nothing_changes(
    ctl: httpx.Client, api: httpx.Client, damage: Any
) -> None:
    _busy(api, ctl)
    before = ctl.get("/_fake/state")
    doc = copy.deepcopy(before.json())
    # other parts of the document are valid changes, so a partial load would show
    doc["clock"]["now"] = "2031-01-01T00:00:00.000000Z"
    doc["keys"] = [k for k in doc["keys"] if k["customer_id"] != SECOND_CUSTOMER]
    named = damage(doc)

    message = bad_input(ctl.put("/_fake/state", json=doc))
    assert named in message, message
    assert ctl.get("/_fake/state").content == before.content


def test_state_put_needs_a_json_object(ctl: httpx.Client) -> None:
    before = ctl.get("/_fake/state").content
    bad_input(ctl.put("/_fake/state", content=b"[1, 2"))
    bad_input(ctl.put("/_fake/state", json=[]))
    bad_input(ctl.put("/_fake/state"))
    assert ctl.get("/_fake/state").content == before


# --- routing, headers and the spec ----------------------------------------------------


def test_unknown_control_path_is_404_route_not_found(ctl: httpx.Client) -> None:
    for method, path in [
        ("GET", "/_fake/nothing"),
        ("POST", "/_fake/health"),
        ("DELETE", "/_fake/state"),
        ("GET", "/_fake/"),
    ]:
        r = ctl.request(method, path)
        assert r.status_code == 404, (method, path)
        assert r.headers["content-type"].startswith("application/json")
        err = r.json()["error"]
        assert (err["status"], err["reason"]) == ("NOT_FOUND", "ROUTE_NOT_FOUND")
        assert err["request_id"] == r.headers["x-request-id"]


def test_every_control_response_carries_x_request_id(ctl: httpx.Client) -> None:
    calls = [
        ("GET", "/_fake/health", None),
        ("POST", "/_fake/reset", None),
        ("GET", "/_fake/clock", None),
        ("POST", "/_fake/clock", {"advance": 1}),
        ("POST", "/_fake/clock", {"advance": "x"}),
        ("POST", "/_fake/customers", {}),
        ("POST", "/_fake/customers", {"name": 1}),
        ("GET", "/_fake/journal", None),
        ("DELETE", "/_fake/journal", None),
        ("POST", "/_fake/faults", {"operation": "GetAccesskeys", "status": 503}),
        ("POST", "/_fake/faults", {"operation": "nope", "status": 503}),
        ("GET", "/_fake/faults", None),
        ("DELETE", "/_fake/faults", None),
        ("GET", "/_fake/state", None),
        ("PUT", "/_fake/state", {"format": "nope"}),
        ("GET", "/_fake/openapi.yaml", None),
        ("GET", "/_fake/nothing", None),
    ]
    for method, path, body in calls:
        r = ctl.request(method, path, json=body) if body is not None else ctl.request(method, path)
        rid = r.headers.get("x-request-id")
        assert rid, f"{method} {path} -> {r.status_code} has no X-Request-Id"
    # a caller's own X-Request-Id is echoed
    r = ctl.get("/_fake/health", headers={"X-Request-Id": "my-id-123"})
    assert r.headers["x-request-id"] == "my-id-123"


def test_control_spec_is_valid_openapi_and_apart_from_the_api_spec(ctl: httpx.Client) -> None:
    r = ctl.get("/_fake/openapi.yaml")
    assert r.status_code == 200
    assert "yaml" in r.headers["content-type"]
    spec = yaml.safe_load(r.text)
    validate(spec)
    paths = set(spec["paths"])
    assert paths >= CONTROL_PATHS, CONTROL_PATHS - paths
    assert not any(p.startswith("/v1.0") for p in paths)
    assert all(p.startswith("/_fake/") for p in paths)

    main = ctl.get("/openapi.yaml")
    assert main.status_code == 200
    main_spec = yaml.safe_load(main.text)
    assert main_spec["paths"]
    assert not any("/_fake" in p for p in main_spec["paths"])


def test_control_spec_documents_every_method_served(ctl: httpx.Client) -> None:
    spec = yaml.safe_load(ctl.get("/_fake/openapi.yaml").text)
    served = {
        ("get", "/_fake/health"),
        ("post", "/_fake/reset"),
        ("get", "/_fake/clock"),
        ("post", "/_fake/clock"),
        ("post", "/_fake/customers"),
        ("get", "/_fake/customers"),
        ("get", "/_fake/journal"),
        ("delete", "/_fake/journal"),
        ("post", "/_fake/faults"),
        ("get", "/_fake/faults"),
        ("delete", "/_fake/faults"),
        ("get", "/_fake/state"),
        ("put", "/_fake/state"),
        ("get", "/_fake/ui"),
    }
    documented = {(m, p) for p, item in spec["paths"].items() for m in item if m != "parameters"}
    assert served <= documented, served - documented


# --- edges: the reset's file, the dump's profile and clock, an offset -------------------

SECRET = "hunter2-SECRET-do-not-print"


@pytest.mark.parametrize(
    "content",
    [
        f"root:x:0:0:root:/root:/bin/bash\n{SECRET}\n".encode(),
        f"{SECRET}: {SECRET}\n".encode(),
        f"customers: [{SECRET}\n  - : :\n".encode(),
        f"customers:\n  - {SECRET}: 1\n".encode(),
        f"customers:\n  - id: {SECRET}\n".encode(),
        f"customers:\n  - name: {SECRET}\xff\n".encode("latin-1"),
        f"customers: []\n{SECRET}: 1\n{SECRET}: 2\n".encode(),
    ],
    ids=["passwd", "mapping", "yaml-error", "unknown-field", "bad-id", "not-utf8", "duplicate"],
)
def test_reset_to_a_file_never_echoes_it(ctl: httpx.Client, tmp_path: Any, content: bytes) -> None:
    """The control API reads any path it is given: its 400 says what is wrong with the
    file (a place, a line) and never shows the file's text."""
    path = tmp_path / "secret.txt"
    path.write_bytes(content)
    before = ctl.get("/_fake/state").content
    r = ctl.post("/_fake/reset", json={"fixtures": str(path)})
    message = bad_input(r)
    assert str(path) in message, message
    assert "hunter2" not in r.text and "root:" not in r.text, r.text
    assert ctl.get("/_fake/state").content == before


@pytest.mark.parametrize(
    ("yaml_text", "named"),
    [
        ("customers:\n  - keys: [{expire: 300000000000}]\n", "customers/0/keys/0/expire"),
        ("customers:\n  - created_ago: 99999999999\n", "customers/0/created_ago"),
    ],
)
def test_reset_to_fixtures_the_clock_cannot_hold_is_refused(
    ctl: httpx.Client, tmp_path: Any, yaml_text: str, named: str
) -> None:
    path = tmp_path / "far.yaml"
    path.write_text(yaml_text)
    before = ctl.get("/_fake/state").content
    message = bad_input(ctl.post("/_fake/reset", json={"fixtures": str(path)}))
    assert str(path) in message and named in message, message
    assert ctl.get("/_fake/state").content == before


def test_state_put_refuses_an_unknown_profile(ctl: httpx.Client) -> None:
    before = ctl.get("/_fake/state")
    doc = before.json()
    doc["profile"] = "nonsense"
    message = bad_input(ctl.put("/_fake/state", json=doc))
    assert "profile" in message and "docs" in message and "live" in message, message
    assert ctl.get("/_fake/state").content == before.content


def test_clock_set_refuses_an_offset_past_23_59(ctl: httpx.Client) -> None:
    message = bad_input(ctl.post("/_fake/clock", json={"set": "2026-12-01T10:15:30+24:00"}))
    assert message.startswith('"set": '), message
    assert ctl.get("/_fake/clock").json() == {"now": NOW, "frozen": True}


def test_a_dump_at_the_clocks_edge_round_trips(ctl: httpx.Client) -> None:
    assert ctl.post("/_fake/clock", json={"set": "9800-01-01T00:00:00Z"}).status_code == 200
    for _ in range(2):  # each write steps 1 µs past the last instant set can reach
        assert ctl.post("/_fake/customers", json={"expire": 2147483647}).status_code == 200
    dumped = ctl.get("/_fake/state")
    assert dumped.json()["clock"]["now"] == "9800-01-01T00:00:00.000001Z"
    r = ctl.put("/_fake/state", json=dumped.json())
    assert r.status_code == 200, r.text
    assert ctl.get("/_fake/state").content == dumped.content


def test_fixtures_at_the_clocks_earliest_instant_round_trip(tmp_path: Any) -> None:
    """The oldest fixture the clock holds: dumped, loaded back, listed (no 500)."""
    path = tmp_path / "old.yaml"
    path.write_text(
        "customers:\n  - created_ago: 1796120130\n"
        "    keys: [{token: vb_a3Bf9xKmPq2nR7sT4wYzLp8mN5qR1xWe, created_ago: 1796120130,"
        " expire: 2147483647}]\n"
    )
    with (
        FakeVoipbin(now="2026-12-01T10:15:30Z", fixtures=str(path)) as fake,
        httpx.Client(base_url=fake.base_url, timeout=10) as c,
    ):
        dumped = c.get("/_fake/state")
        assert dumped.status_code == 200
        assert dumped.json()["keys"][0]["tm_create"] == "1970-01-01T00:00:00.000000Z"
        r = c.put("/_fake/state", json=dumped.json())
        assert r.status_code == 200, r.text
        assert c.get("/_fake/state").content == dumped.content
        listed = c.get("/v1.0/accesskeys", params={"accesskey": TUTORIAL_TOKEN})
        assert listed.status_code == 200, listed.text


def test_state_put_of_a_running_dump_never_rewinds_the_clock(ctl: httpx.Client) -> None:
    """One rule with --state-file: a running clock runs on from the later of the
    dump's instant and the fake's now (a frozen dump comes back at its instant)."""
    assert ctl.post("/_fake/clock", json={"freeze": False}).status_code == 200
    dump = ctl.get("/_fake/state").json()
    assert dump["clock"]["frozen"] is False
    later = "2027-06-01T00:00:00.000000Z"
    assert ctl.post("/_fake/clock", json={"set": later}).status_code == 200
    assert ctl.put("/_fake/state", json=dump).status_code == 200
    clock = ctl.get("/_fake/clock").json()
    assert clock["frozen"] is False
    assert clock["now"] >= later, clock  # not back at the dump's instant
    # a fake behind the dump's instant moves on to it
    ctl.post("/_fake/clock", json={"set": "2026-01-01T00:00:00Z", "freeze": True})
    assert ctl.put("/_fake/state", json=dump).status_code == 200
    clock = ctl.get("/_fake/clock").json()
    assert clock["frozen"] is False and clock["now"] >= dump["clock"]["now"], clock


# --- what the live page (/_fake/ui) calls: the journal after a seq, the customers -------


def test_the_journal_after_a_seq_has_only_the_later_entries(
    ctl: httpx.Client, api: httpx.Client
) -> None:
    for _ in range(3):
        assert api.get("/accesskeys").status_code == 200
    whole = ctl.get("/_fake/journal").json()
    assert [e["seq"] for e in whole["entries"]] == [1, 2, 3]
    later = ctl.get("/_fake/journal", params={"after": 1}).json()
    assert [e["seq"] for e in later["entries"]] == [2, 3]
    assert later["entries"] == whole["entries"][1:]
    assert ctl.get("/_fake/journal", params={"after": 3}).json()["entries"] == []
    assert ctl.get("/_fake/journal", params={"after": 0}).json() == whole
    # A clear starts the numbering again, in a new epoch a poller can see.
    epoch = whole["epoch"]
    assert ctl.delete("/_fake/journal").json() == {"cleared": 3}
    assert api.get("/accesskeys").status_code == 200
    after_clear = ctl.get("/_fake/journal", params={"after": 3}).json()
    assert after_clear["entries"] == [] and after_clear["epoch"] != epoch
    again = ctl.get("/_fake/journal", params={"after": 0}).json()
    assert [e["seq"] for e in again["entries"]] == [1]
    assert ctl.post("/_fake/reset").status_code == 200
    assert ctl.get("/_fake/journal").json()["epoch"] not in (epoch, after_clear["epoch"])


@pytest.mark.parametrize("after", ["-1", "x", "1.5", "", "१", "9" * 40])
def test_the_journal_after_a_bad_seq_is_a_400_naming_it(ctl: httpx.Client, after: str) -> None:
    assert '"after"' in bad_input(ctl.get("/_fake/journal", params={"after": after}))


def test_the_customers_list_has_no_token_hash_or_secret(ctl: httpx.Client) -> None:
    r = ctl.get("/_fake/customers")
    assert r.status_code == 200
    customers = r.json()["customers"]
    tutorial = next(c for c in customers if c["name"] == "Tutorial customer")
    assert (tutorial["status"], tutorial["frozen"]) == ("active", False)
    assert {
        "id": TUTORIAL_KEY_ID,
        "name": "My New Accesskey",
        "token_prefix": TUTORIAL_TOKEN[:11],
    } in (tutorial["keys"])
    assert SECOND_CUSTOMER in {c["id"] for c in customers}
    for word in (TUTORIAL_TOKEN, "hash", "secret", "password"):
        assert word not in r.text
    added = ctl.post("/_fake/customers", json={"name": f"named {TUTORIAL_TOKEN}"}).json()
    raw = added["accesskey"]["token"]
    listed = ctl.get("/_fake/customers")
    assert added["customer_id"] in listed.text and raw not in listed.text
    assert TUTORIAL_TOKEN not in listed.text  # a token in a name: its prefix only
    assert f"named {TUTORIAL_TOKEN[:11]}…" in listed.text


def test_the_page_is_served_beside_the_control_api(ctl: httpx.Client) -> None:
    r = ctl.get("/_fake/ui")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert "'unsafe-inline'" not in csp and "'sha256-" in csp
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "<script src" not in r.text and "<link" not in r.text
    assert "http://" not in r.text and "https://" not in r.text
    assert ".innerHTML" not in r.text and "insertAdjacentHTML" not in r.text


@pytest.mark.parametrize("query", ["token=abc", "control_token=abc", "X-Fake-Control-Token=abc"])
def test_a_token_in_the_pages_url_is_refused(ctl: httpx.Client, query: str) -> None:
    message = bad_input(ctl.get("/_fake/ui?" + query))
    assert "never goes in a URL" in message and "abc" not in message


def test_with_a_control_token_the_page_loads_and_its_data_needs_the_token() -> None:
    token = "page-t0ken-s3cret"
    with FakeVoipbin(control_token=token) as fake, httpx.Client(base_url=fake.base_url) as c:
        page = c.get("/_fake/ui")
        assert page.status_code == 200 and token not in page.text
        for path in ("/_fake/journal?after=0", "/_fake/customers", "/_fake/clock", "/_fake/faults"):
            assert c.get(path).status_code == 401, path
            ok = c.get(path, headers={"X-Fake-Control-Token": token})
            assert ok.status_code == 200, path
        assert c.post("/_fake/ui").status_code == 401
        assert c.post("/_fake/ui", headers={"X-Fake-Control-Token": token}).status_code == 404


def test_without_the_control_api_there_is_no_page() -> None:
    with FakeVoipbin(control=False) as fake, httpx.Client(base_url=fake.base_url) as c:
        assert c.get("/_fake/ui").status_code == 404
