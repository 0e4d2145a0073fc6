"""``fakevoipbin verify`` always reaches a verdict: against servers whose lists never
end (a page repeated, a next_page_token that does not move back in time, keys that
were deleted or never made), and under ``max_requests`` / ``timeout`` bounds.

Each broken server is an httpx transport wrapped round a fake's in-process transport.
Every bound is shown by the number of requests the server saw, never by seconds."""

from __future__ import annotations

import io
import re
import uuid
from typing import Any

import httpx
import pytest

from fakevoipbin.checks.exchange_rules import token_problem
from fakevoipbin.contract import RULES, verify
from fakevoipbin.core.clock import format_fixed, parse_instant
from fakevoipbin.testing import FakeVoipbin
from fakevoipbin.web.transport import InProcessTransport

from ..conftest import NOW

IN_PROCESS = "http://fakevoipbin/v1.0"
LIST = "/v1.0/accesskeys"


class Server(httpx.BaseTransport):
    """The fake as it is; subclasses break it in ``change``. ``seen`` is every API
    request (method, path) in order; ``pagings`` the number of pages of each paging
    through the list (a request without page_token starts one)."""

    def __init__(self, fake: FakeVoipbin) -> None:
        self.inner = InProcessTransport(fake.app.asgi)
        self.seen: list[tuple[str, str]] = []
        self.pagings: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/v1.0/"):
            self.seen.append((request.method, request.url.path))
            if self.is_list(request):
                if "page_token" in request.url.params and self.pagings:
                    self.pagings[-1] += 1
                else:
                    self.pagings.append(1)
        return self.change(request)

    def change(self, request: httpx.Request) -> httpx.Response:
        return self.forward(request)

    def forward(self, request: httpx.Request) -> httpx.Response:
        r = self.inner.handle_request(request)
        r.read()
        return r

    @staticmethod
    def answer(request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        return httpx.Response(200, json=body, request=request)

    def is_list(self, request: httpx.Request) -> bool:
        return request.method == "GET" and request.url.path == LIST


class RepeatsPage(Server):
    """Ignores page_token: every page is the first one again."""

    def change(self, request: httpx.Request) -> httpx.Response:
        if self.is_list(request) and "page_token" in request.url.params:
            params = request.url.params.remove("page_token")
            request = httpx.Request("GET", request.url.copy_with(params=params))
        return self.forward(request)


class FutureToken(Server):
    """A non-empty page's next_page_token is far in the future, not back in time."""

    def change(self, request: httpx.Request) -> httpx.Response:
        r = self.forward(request)
        if self.is_list(request) and r.status_code == 200:
            body = r.json()
            if body["result"]:
                body["next_page_token"] = "2999-01-01T00:00:00.000000Z"
                return self.answer(request, body)
        return r


class Bottomless(Server):
    """Every page ends with one more key, older than the last, that nobody made: a
    list that never ends, with unique ids and tokens that do move back in time."""

    shape: dict[str, Any] | None = None

    def change(self, request: httpx.Request) -> httpx.Response:
        r = self.forward(request)
        if not (self.is_list(request) and r.status_code == 200):
            return r
        body = r.json()
        cursor = request.url.params.get("page_token")
        oldest = [parse_instant(k["tm_create"]) for k in body["result"]]
        if cursor:
            oldest.append(parse_instant(cursor))
        self.shape = dict(body["result"][0]) if body["result"] else self.shape
        if not oldest or self.shape is None:
            return r
        made = format_fixed(min(oldest) - 1_000_000)
        invented = {**self.shape, "id": str(uuid.UUID(int=len(self.seen), version=4))}
        invented.update(tm_create=made, name="invented")
        body["result"].append(invented)
        body["next_page_token"] = made
        return self.answer(request, body)


class ListsDeletedKeys(Server):
    """Keeps the last deleted keys in their customer's list (newest first, paged by
    the tm_create cursor as the fake pages). The last ``KEEP`` only, so that lists
    stay short (the suite checks every page against the spec twice)."""

    KEEP = 5

    def __init__(self, fake: FakeVoipbin) -> None:
        super().__init__(fake)
        self.profile = fake.profile
        self.deleted: dict[str, dict[str, Any]] = {}

    def change(self, request: httpx.Request) -> httpx.Response:
        r = self.forward(request)
        if request.method == "DELETE" and r.status_code == 200:
            key = r.json()
            self.deleted[key["id"]] = key
            for old in list(self.deleted)[: -self.KEEP]:
                del self.deleted[old]
            return r
        if not (self.is_list(request) and r.status_code == 200):
            return r
        params = dict(request.url.params)
        size = int(params.get("page_size", 100))
        size = size if 1 <= size <= 100 else 100
        everything = self._all_live(request, params["accesskey"])
        customers = {k["customer_id"] for k in everything}
        everything += [k for k in self.deleted.values() if k["customer_id"] in customers]
        everything.sort(key=lambda k: parse_instant(k["tm_create"]), reverse=True)
        if params.get("page_token"):
            cursor = parse_instant(params["page_token"])
            everything = [k for k in everything if parse_instant(k["tm_create"]) < cursor]
        page = everything[:size]
        cursor_text = format_fixed(parse_instant(page[-1]["tm_create"])) if page else None
        if self.profile == "live":
            nxt: str | None = cursor_text or ""
        else:
            nxt = cursor_text if len(everything) > size else None
        return self.answer(request, {"result": page, "next_page_token": nxt})

    def _all_live(self, request: httpx.Request, accesskey: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            query = {"accesskey": accesskey, "page_size": 100}
            if token:
                query["page_token"] = token
            inner = self.forward(httpx.Request("GET", request.url.copy_with(params=query)))
            body = inner.json()
            items += body["result"]
            token = body.get("next_page_token") or ""
            if not body["result"] or not token:
                return items


def run(server: Server, fake: FakeVoipbin, **kw: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    client = httpx.Client(transport=server, base_url=IN_PROCESS)
    code = verify(IN_PROCESS, fake.accesskey, client=client, out=out, err=err, **kw)
    return code, out.getvalue(), err.getvalue()


def verdicts(text: str) -> dict[str, str]:
    return {
        m[1]: m[2]
        for m in re.finditer(r"^(\S+)\s+(held|BROKEN|unused|unproven)\s+\d+\s", text, re.M)
    }


def header(text: str, rule_name: str) -> str:
    m = re.search(rf"^BROKEN {re.escape(rule_name)}: (.+)$", text, re.M)
    assert m, f"no BROKEN {rule_name} header:\n{text}"
    return m[1]


def broke_it(text: str, rule_name: str) -> str:
    """The 'broke it:' evidence under a rule's sequence."""
    start = text.index(f"BROKEN {rule_name}: ")
    m = re.compile(r"^\s+broke it: (.+)$", re.M).search(text, start)
    assert m, text
    return m[1]


def fake_for(profile: str = "live") -> FakeVoipbin:
    return FakeVoipbin(profile=profile, now=NOW, response_validation="off")


# --- the three signs that paging cannot end, each BROKEN at once ---------------------


@pytest.mark.parametrize(
    ("server_class", "profile", "rule_name", "message", "evidence"),
    [
        (
            RepeatsPage,
            "live",
            "list-exactly-once",
            r"page 2 of the list repeats 1 key\(s\) already listed",
            r"repeated id\(s\): [0-9a-f-]{36}",
        ),
        (
            FutureToken,
            "live",
            "next-page-token",
            r"next_page_token 2999-01-01T00:00:00.000000Z is later than the page's last "
            r"tm_create .+: it does not move back in time",
            r'"next_page_token": "2999-01-01T00:00:00.000000Z"',
        ),
        (
            FutureToken,
            "docs",
            "next-page-token",
            r"later than the page's last tm_create",
            r'"next_page_token": "2999-01-01T00:00:00.000000Z"',
        ),
        (
            Bottomless,
            "live",
            "list-exactly-once",
            r"paging yielded \d+ keys, more than the \d+ this run made \(and did not "
            r"delete\) plus the 1 listed before it",
            r"\d+ distinct ids after 1 page\(s\)",
        ),
        (
            ListsDeletedKeys,
            "live",
            "list-exactly-once",
            r"the list shows \d+ key\(s\) this run deleted",
            r"deleted id\(s\) listed: [0-9a-f-]{36}(, [0-9a-f-]{36})*",
        ),
    ],
)
def test_a_list_that_cannot_end_is_broken_at_once(
    server_class: type[Server], profile: str, rule_name: str, message: str, evidence: str
) -> None:
    fake = fake_for(profile)
    server = server_class(fake)
    code, out, _err = run(server, fake, examples=5)
    assert code == 1, out
    assert verdicts(out)[rule_name] == "BROKEN", out
    assert re.search(message, header(out, rule_name)), out
    assert re.fullmatch(evidence, broke_it(out, rule_name)), out
    # At once: no list was paged further than a page past the breach. Before the fix a
    # repeated page or a stuck token paged 10,000 times per list, and a bottomless list
    # had no end at all.
    assert max(server.pagings) <= 2, server.pagings
    assert len(server.seen) < 6000, len(server.seen)


def test_a_token_must_move_strictly_back_from_the_one_that_asked() -> None:
    page = [{"id": "a", "tm_create": "2026-12-01T10:00:00.000000Z"}]
    asked = "2026-12-01T10:00:00.000000Z"
    assert token_problem(None, "2026-12-01T10:00:00.000000Z", page) is None
    assert token_problem("2026-12-01T11:00:00.000000Z", asked, page) is None
    stuck = token_problem(asked, asked, page)
    assert stuck and "does not move back in time from the page_token" in stuck
    later = token_problem(None, "2026-12-01T10:00:00.000001Z", page)
    assert later and "later than the page's last tm_create" in later
    garbled = token_problem(None, "page-2", page)
    assert garbled and "not a timestamp" in garbled


@pytest.mark.parametrize("server_class", [RepeatsPage, ListsDeletedKeys])
def test_a_broken_list_gets_a_verdict_at_default_settings(server_class: type[Server]) -> None:
    """No bound given, 50 examples. Before, a repeated page was paged 10,000 times per
    list, in every example and every shrinking replay: no verdict after 40,000
    requests. Now the verdict comes in a few thousand."""
    fake = fake_for("live")
    server = server_class(fake)
    code, out, _err = run(server, fake)
    assert code == 1, out
    assert verdicts(out)["list-exactly-once"] == "BROKEN", out
    assert "50 of 50 examples" in out
    # 50 examples, then shrinking each broken rule within its 1,000 requests.
    assert len(server.seen) < 5000, len(server.seen)
    assert max(server.pagings) <= 2, server.pagings


# --- bounds -------------------------------------------------------------------------


def _after_stop(server: Server, stopped_at: int) -> list[tuple[str, str]]:
    return server.seen[stopped_at:]


#: What cleanup may send past a bound: deletes of the keys the run made, and the PUT
#: that puts the customer back as it was after a PUT /customer of the stopped example.
CLEANUP = {"DELETE", "PUT /v1.0/customer"}


def _cleanup_only(seen: list[tuple[str, str]]) -> bool:
    return all(m == "DELETE" or f"{m} {p}" in CLEANUP for m, p in seen)


def test_max_requests_stops_a_run_and_names_the_rules_unproven() -> None:
    fake = fake_for("docs")
    server = Server(fake)  # a correct fake: nothing breaks, so exit 3
    code, out, _err = run(server, fake, max_requests=120)
    assert code == 3, out
    table = verdicts(out)
    assert set(table.values()) == {"unproven"}, out
    m = re.search(
        r"^stopped by --max-requests 120 after (\d+) requests, .*; unproven: (.+)$", out, re.M
    )
    assert m, out
    assert m[2].split(", ") == list(RULES)
    assert re.search(rf"^0 rules held, 0 broken, {len(RULES)} unproven$", out, re.M), out
    # 120 requests, the credential check and the examples' teardowns among them; past
    # the bound only the deletes of the keys the stopped example had made (and the
    # customer put back).
    stopped_at = int(m[1])
    assert stopped_at == 120, out
    assert len(server.seen) >= stopped_at
    assert _cleanup_only(_after_stop(server, stopped_at))
    live = [k for k in fake.state.store.keys.values() if k.name.startswith("fakevoipbin-verify-")]
    assert all(k.tm_delete is not None for k in live)


def test_timeout_stops_a_run_by_the_clock_it_is_given() -> None:
    """Each API request takes 0.01 s of a clock that only the server moves: a 1.5 s
    timeout is 150 requests."""
    fake = fake_for("docs")

    class Ticking(Server):
        now = 0.0

        def change(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.startswith("/v1.0/"):
                Ticking.now += 0.01
            return self.forward(request)

    server = Ticking(fake)
    code, out, _err = run(server, fake, timeout=1.5, monotonic=lambda: Ticking.now)
    assert code == 3, out
    m = re.search(r"^stopped by --timeout 1.5 after (\d+) requests", out, re.M)
    assert m, out
    stopped_at = int(m[1])
    assert 140 <= stopped_at <= 160, stopped_at
    assert _cleanup_only(_after_stop(server, stopped_at))


def test_a_bound_with_a_broken_rule_exits_1_and_still_shows_its_sequence() -> None:
    fake = fake_for("live")
    server = RepeatsPage(fake)
    code, out, _err = run(server, fake, max_requests=40)
    assert code == 1, out
    table = verdicts(out)
    assert table["list-exactly-once"] == "BROKEN", out
    assert "unproven" in table.values()
    assert re.search(r"^stopped by --max-requests 40 after \d+ requests", out, re.M), out
    assert "repeat the last request:" in out
    unproven = [name for name, v in table.items() if v == "unproven"]
    assert re.search(rf"unproven: {re.escape(', '.join(unproven))}$", out, re.M), out


def test_shrinking_is_bounded_by_max_requests_too() -> None:
    fake = fake_for("live")
    server = ListsDeletedKeys(fake)
    code, out, _err = run(server, fake, examples=10, max_requests=400)
    assert code == 1, out
    stopped = re.search(r"^(\d+) of 10 examples, (\d+) requests", out, re.M)
    assert stopped, out
    # Whether the bound fell in the examples or in shrinking, nothing but cleanup
    # went past it (the credential check is one of the 400).
    api_past = [s for s in server.seen[400:] if not _cleanup_only([s])]
    assert api_past == [], api_past[:5]


def _counts(out: str) -> tuple[int, int, int | None]:
    """The summary's requests, its cleanup requests (0 when it names none), and the
    stop line's requests (None when nothing stopped the run)."""
    summary = re.search(
        r"^\d+ of \d+ examples, (\d+) requests? in [\d.]+ s(?:, then (\d+) to clean up)?;",
        out,
        re.M,
    )
    assert summary, out
    stop = re.search(r"^stopped by \S+ \S+ after (\d+) requests?", out, re.M)
    return int(summary[1]), int(summary[2] or 0), int(stop[1]) if stop else None


@pytest.mark.parametrize("bound", [1, 2, 7, 120])
def test_max_requests_n_makes_at_most_n_requests_and_says_one_count(bound: int) -> None:
    """The credential check counts: --max-requests 1 is one request, not two. Every
    line says the same count, the server saw exactly it before the stop, and what
    went past it (cleanup: deleting the keys made) is said apart, as many as it was."""
    fake = fake_for("docs")
    server = Server(fake)
    code, out, _err = run(server, fake, max_requests=bound)
    assert code == 3, out
    made, cleanup, stopped_at = _counts(out)
    assert made == stopped_at == bound, out
    assert len(server.seen) == bound + cleanup, (server.seen[bound:], out)
    assert _cleanup_only(_after_stop(server, bound))


def test_timeout_says_one_count_in_every_line() -> None:
    """The issue's run said "161 requests" and "after 155 requests" in one output: the
    summary counted cleanup in. Now the summary and the stop line agree, and the
    server saw that many before cleanup, then the cleanup the summary names."""
    fake = fake_for("docs")

    class Ticking(Server):
        now = 0.0

        def change(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.startswith("/v1.0/"):
                Ticking.now += 0.01
            return self.forward(request)

    server = Ticking(fake)
    code, out, _err = run(server, fake, timeout=2.0, monotonic=lambda: Ticking.now)
    assert code == 3, out
    made, cleanup, stopped_at = _counts(out)
    assert made == stopped_at, out
    assert cleanup > 0, out  # the stopped example had made keys: deleted past the bound
    assert len(server.seen) == made + cleanup
    assert _cleanup_only(_after_stop(server, made))


def test_a_bound_used_up_by_the_credential_checks_retries_is_said_in_one_line() -> None:
    """A 429 is retried; under --max-requests 2 the third try is not made."""
    fake = fake_for("docs")

    class Busy(Server):
        def change(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.startswith("/v1.0/"):
                return httpx.Response(429, headers={"Retry-After": "1"}, request=request)
            return self.forward(request)

    server = Busy(fake)
    code, out, err = run(server, fake, max_requests=2)
    assert code == 3, out + err
    assert len(server.seen) == 2
    assert err.strip().splitlines() == [
        "fakevoipbin verify: stopped by --max-requests 2 after 2 requests, before the "
        "credential check was answered"
    ]
