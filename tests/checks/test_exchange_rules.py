"""checks/exchange_rules.py: the rules one exchange can show, as the proxy judges an
upstream's answer. A fake's own answers break none of them in its own profile; each
rule fires on an answer bent to break it, with evidence that holds no raw token."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fakevoipbin.checks.exchange_rules import (
    Breach,
    Verdict,
    _created,
    judge,
    page_token_problem,
    seconds,
)
from fakevoipbin.core.clock import US, format_fixed, parse_instant
from fakevoipbin.core.profiles import DOCS, LIVE, get_profile
from fakevoipbin.spec import default_spec
from fakevoipbin.testing import FakeVoipbin

from ..conftest import NOW, TUTORIAL_KEY_ID, TUTORIAL_TOKEN

SPEC = default_spec()
OPS = SPEC.operations
CREATE = {"name": "rules", "detail": "d", "expire": 86400}


def _answers(profile: str) -> dict[str, tuple[int, Any]]:
    """Real answers of a fake in ``profile``: each operation's status and JSON body."""
    with FakeVoipbin(profile=profile, now=NOW) as fake:
        c = fake.client()
        key = {"accesskey": TUTORIAL_TOKEN}
        out: dict[str, tuple[int, Any]] = {}
        r = c.post("/accesskeys", params=key, json=CREATE)
        out["PostAccesskeys"] = (r.status_code, r.json())
        r = c.get(f"/accesskeys/{TUTORIAL_KEY_ID}", params=key)
        out["GetAccesskeysId"] = (r.status_code, r.json())
        r = c.get("/accesskeys", params={**key, "page_size": 1})
        out["GetAccesskeys"] = (r.status_code, r.json())
        r = c.get("/accesskeys", params={**key, "page_size": 100})
        out["GetAccesskeys100"] = (r.status_code, r.json())
        r = c.get("/customer", params=key)
        out["GetCustomer"] = (r.status_code, r.json())
        r = c.put("/customer", params=key, json={"name": "n"})
        out["PutCustomer"] = (r.status_code, r.json())
        r = c.get("/accesskeys/not-a-uuid", params=key)
        out["GetAccesskeysIdError"] = (r.status_code, r.json())
    return out


@pytest.fixture(scope="module", params=["docs", "live"])
def answers(request: pytest.FixtureRequest) -> tuple[str, dict[str, tuple[int, Any]]]:
    return request.param, _answers(request.param)


def _judge(profile: str, op_id: str, status: int, body: Any, **kw: Any) -> Verdict:
    return judge(SPEC, get_profile(profile), OPS[op_id], status, body, **kw)


def _rules(found: list[Breach]) -> list[str]:
    return [b.rule for b in found]


def test_a_fakes_own_answers_break_no_rule_in_its_profile(answers: Any) -> None:
    profile, got = answers
    for name, (status, body) in got.items():
        op_id = name.removesuffix("100").removesuffix("Error")
        query = {"page_size": ["1" if name == "GetAccesskeys" else "100"]}
        found = _judge(profile, op_id, status, body, request_body=CREATE, query=query)
        assert found == [], (name, found)


def test_a_token_outside_a_create_is_drift_and_its_evidence_is_a_prefix(answers: Any) -> None:
    profile, got = answers
    status, body = got["GetAccesskeysId"]
    bent = {**body, "token": TUTORIAL_TOKEN}
    found = _judge(profile, "GetAccesskeysId", status, bent)
    assert "token-only-on-create" in _rules(found)
    shown = " ".join(b.evidence + b.message for b in found)
    assert TUTORIAL_TOKEN not in shown
    assert "vb_a3Bf9xKm…" in shown
    status, page = got["GetAccesskeys100"]
    listed = copy.deepcopy(page)
    listed["result"][0]["token"] = TUTORIAL_TOKEN
    assert "token-only-on-create" in _rules(_judge(profile, "GetAccesskeys", status, listed))


def test_a_create_whose_tm_expire_is_an_hour_off_breaks_the_arithmetic(answers: Any) -> None:
    profile, got = answers
    status, body = got["PostAccesskeys"]
    assert status == 200, body
    bent = {**body, "tm_expire": body["tm_expire"].replace("T10:", "T11:", 1)}
    assert bent["tm_expire"] != body["tm_expire"]
    found = _judge(profile, "PostAccesskeys", status, bent, request_body=CREATE)
    assert _rules(found) == ["expire-arithmetic"]
    assert "90000" in found[0].message and "86400" in found[0].message
    assert TUTORIAL_TOKEN[:11] not in found[0].evidence  # times, not the token
    # Within a second is kept (a real server's clock ticks between the stamps).
    ok = _judge(profile, "PostAccesskeys", status, body, request_body={"Expire": 86400})
    assert ok == []
    # Which expire was asked comes from the request, matched as production binds it.
    asked_more = _judge(profile, "PostAccesskeys", status, body, request_body={"EXPIRE": 60})
    assert _rules(asked_more) == ["expire-arithmetic"]


def test_live_wraps_the_expire_it_was_asked_as_int32() -> None:
    body = {"tm_create": "2026-12-01T10:00:00Z", "tm_expire": "2026-12-02T10:00:00Z"}
    assert _created(LIVE, {**body, **_token()}, {"expire": 2**32 + 86400}) == []
    assert _rules(_created(DOCS, {**body, **_token()}, {"expire": 2**32 + 86400})) == [
        "expire-arithmetic"
    ]


def _token() -> dict[str, str]:
    return {"token": TUTORIAL_TOKEN, "token_prefix": TUTORIAL_TOKEN[:11]}


@pytest.mark.parametrize(
    ("token", "prefix"),
    [
        ("vb_short", "vb_short"),
        (TUTORIAL_TOKEN, "vb_a3Bf9xKq"),
        ("xx" + TUTORIAL_TOKEN[2:], "xx" + TUTORIAL_TOKEN[2:11]),
        (None, TUTORIAL_TOKEN[:11]),
    ],
)
def test_a_create_with_a_bad_token_or_prefix_breaks_token_format(
    answers: Any, token: Any, prefix: str
) -> None:
    profile, got = answers
    status, body = got["PostAccesskeys"]
    bent = {**body, "token": token, "token_prefix": prefix}
    found = _judge(profile, "PostAccesskeys", status, bent, request_body=CREATE)
    assert "token-format" in _rules(found)
    assert TUTORIAL_TOKEN not in " ".join(b.evidence + b.message for b in found)


def test_a_listed_key_with_a_bad_prefix_breaks_token_format(answers: Any) -> None:
    profile, got = answers
    status, page = got["GetAccesskeys100"]
    bent = copy.deepcopy(page)
    bent["result"][-1]["token_prefix"] = "vb_toolongprefix"
    assert "token-format" in _rules(_judge(profile, "GetAccesskeys", status, bent))


def test_docs_last_page_is_drift_for_live_and_lives_empty_page_for_docs() -> None:
    got = _answers("docs")
    status, page = got["GetAccesskeys100"]
    assert page["next_page_token"] is None
    query = {"page_size": ["100"]}
    assert _judge("docs", "GetAccesskeys", status, page, query=query) == []
    assert "next-page-token" in _rules(_judge("live", "GetAccesskeys", status, page, query=query))
    empty_live = {"result": [], "next_page_token": ""}
    assert _judge("live", "GetAccesskeys", 200, empty_live) == []
    assert "next-page-token" in _rules(_judge("docs", "GetAccesskeys", 200, empty_live))


def test_page_token_problem_follows_each_profile() -> None:
    page = [{"tm_create": "2026-12-01T10:00:00.000000Z"}]
    assert page_token_problem(DOCS, page, None, 100) is None
    assert page_token_problem(DOCS, page, "2026-12-01T10:00:00.000000Z", 1) is None
    assert page_token_problem(DOCS, page * 2, None, 1) is not None  # over the page size
    assert page_token_problem(LIVE, page, "2026-12-01T10:00:00.000000Z", 100) is None
    assert page_token_problem(LIVE, page, None, 100) is not None
    assert page_token_problem(LIVE, [], "", 100) is None
    assert page_token_problem(DOCS, [], None, 100) is None
    assert page_token_problem(DOCS, [], "", 100) is not None


def test_an_error_outside_the_envelope_is_drift(answers: Any) -> None:
    profile, got = answers
    found = _judge(profile, "GetAccesskeysId", 400, {"message": "bad id"})
    assert _rules(found) == ["error-envelope"]
    html = judge(SPEC, get_profile(profile), None, 502, None, is_json=False)
    assert _rules(html) == ["error-envelope"]
    status, body = got["GetAccesskeysIdError"]
    assert _judge(profile, "GetAccesskeysId", status, body) == []
    # An unknown reason is outside the envelope's enum.
    bent = copy.deepcopy(body)
    bent["error"]["reason"] = "SOMETHING_NEW"
    assert _rules(_judge(profile, "GetAccesskeysId", status, bent)) == ["error-envelope"]


def test_a_route_the_spec_does_not_describe_is_judged_on_its_errors_alone() -> None:
    assert judge(SPEC, LIVE, None, 200, {"anything": [1, 2]}) == []
    assert judge(SPEC, LIVE, None, 404, {"nope": 1})[0].rule == "error-envelope"


def test_an_undeclared_status_or_a_body_off_its_schema_breaks_responses_conform(
    answers: Any,
) -> None:
    profile, got = answers
    status, body = got["GetAccesskeysId"]
    assert _rules(_judge(profile, "GetAccesskeysId", 201, body)) == ["responses-conform"]
    bent = {k: v for k, v in body.items() if k != "id"}
    assert _rules(_judge(profile, "GetAccesskeysId", status, bent)) == ["responses-conform"]
    assert _rules(_judge(profile, "GetAccesskeysId", 200, None, is_json=False)) == [
        "responses-conform"
    ]


def test_a_webhook_secret_outside_get_customer_is_drift(answers: Any) -> None:
    profile, got = answers
    status, body = got["PutCustomer"]
    bent = {**body, "webhook_secret": "s3cr3t-value"}
    found = _judge(profile, "PutCustomer", status, bent)
    assert "webhook-secret-only-on-get" in _rules(found)
    assert all("s3cr3t-value" not in b.evidence + b.message for b in found)
    status, body = got["GetCustomer"]
    assert "webhook_secret" in body
    assert _judge(profile, "GetCustomer", status, body) == []


def test_a_create_without_a_token_breaks_token_only_on_create(answers: Any) -> None:
    """A create's answer must hold its token: one without breaks token-only-on-create
    (and token-format), as verify's machine has always said."""
    profile, got = answers
    status, body = got["PostAccesskeys"]
    for bent in ({**body, "token": None}, {k: v for k, v in body.items() if k != "token"}):
        found = _rules(_judge(profile, "PostAccesskeys", status, bent, request_body=CREATE))
        assert "token-only-on-create" in found and "token-format" in found, found
    # A refused create has no token, and breaks nothing by it.
    refused = _judge(profile, "PostAccesskeys", 400, got["GetAccesskeysIdError"][1])
    assert "token-only-on-create" not in refused.checked


def test_a_webhook_secret_that_is_not_a_string_breaks_its_rule(answers: Any) -> None:
    profile, got = answers
    status, body = got["GetCustomer"]
    found = _judge(profile, "GetCustomer", status, {**body, "webhook_secret": 12345})
    assert "webhook-secret-only-on-get" in _rules(found)
    assert (
        "webhook_secret of type int"
        in found[_rules(found).index("webhook-secret-only-on-get")].evidence
    )
    unset = {k: v for k, v in body.items() if k != "webhook_secret"}
    assert "webhook-secret-only-on-get" not in _rules(_judge(profile, "GetCustomer", status, unset))


def test_a_fake_is_judged_to_the_microsecond(answers: Any) -> None:
    """``exact`` (verify against a fake): a tm_expire one microsecond off breaks the
    arithmetic; elsewhere a second of slack is kept."""
    profile, got = answers
    status, body = got["PostAccesskeys"]
    off = {**body, "tm_expire": format_fixed(parse_instant(body["tm_expire"]) + 1)}
    assert _judge(profile, "PostAccesskeys", status, off, request_body=CREATE) == []
    exact = _judge(profile, "PostAccesskeys", status, off, request_body=CREATE, exact=True)
    assert _rules(exact) == ["expire-arithmetic"]
    assert "86400.000001 s, not 86400" in exact[0].message
    assert _judge(profile, "PostAccesskeys", status, body, request_body=CREATE, exact=True) == []


def test_the_arithmetic_says_long_lifetimes_in_whole_seconds() -> None:
    """Ten years and a second, not ``3.1536e+08``."""
    made = parse_instant("2026-12-01T10:00:00Z")
    expires = format_fixed(made + 315_360_001 * US)
    body = {**_token(), "tm_create": format_fixed(made), "tm_expire": expires}
    found = _created(LIVE, body, {"expire": 315_360_000}, exact=True)
    assert _rules(found) == ["expire-arithmetic"]
    assert "tm_expire - tm_create = 315360001 s, not 315360000" in found[0].message
    assert [seconds(s) for s in (0, 1, 86_400_000_000, 500_000, -1_500_000)] == [
        "0",
        "0.000001",
        "86400",
        "0.5",
        "-1.5",
    ]


def test_a_verdict_names_every_rule_it_judged(answers: Any) -> None:
    """What verify counts as checks: each rule judge looked at, broken or not."""
    profile, got = answers
    status, body = got["PostAccesskeys"]
    created = _judge(profile, "PostAccesskeys", status, body, request_body=CREATE)
    assert created == []
    assert set(created.checked) == {
        "responses-conform",
        "token-only-on-create",
        "webhook-secret-only-on-get",
        "token-format",
        "expire-arithmetic",
    }
    status, page = got["GetAccesskeys100"]
    listed = _judge(profile, "GetAccesskeys", status, page, query={"page_size": ["100"]})
    assert "next-page-token" in listed.checked and "token-format" in listed.checked
    status, error = got["GetAccesskeysIdError"]
    refused = _judge(profile, "GetAccesskeysId", status, error)
    assert "error-envelope" in refused.checked and "token-format" not in refused.checked
    broken = _judge(profile, "GetAccesskeysId", 400, {"message": "bad id"})
    assert "error-envelope" in broken.checked


@pytest.mark.parametrize("profile", [DOCS, LIVE])
def test_a_next_page_token_later_than_the_page_is_said_as_such(profile: Any) -> None:
    page = [{"tm_create": "2026-12-01T10:00:00.000000Z"}]
    later = page_token_problem(profile, page, "2999-01-01T00:00:00.000000Z", 100)
    assert later is not None and "later than the page's last tm_create" in later
    garbled = page_token_problem(profile, page, "page-2", 100)
    assert garbled is not None and "not a timestamp" in garbled
