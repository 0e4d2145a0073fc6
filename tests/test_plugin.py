"""The pytest plugin (pytest11 entry point): the ``fakevoipbin`` fixture and its marker,
run in fresh pytest processes with ``pytester``."""

from __future__ import annotations

import textwrap
from collections import defaultdict

import pytest

from .conftest import NOW, TUTORIAL_KEY_ID, TUTORIAL_TOKEN

pytest_plugins = ["pytester"]

CUSTOM_CUSTOMER = "11111111-2222-4333-8444-555555555555"
CUSTOM_KEY_ID = "66666666-7777-4888-8999-000000000000"
CUSTOM_TOKEN = "vb_Cust0mT0ken-Cust0mT0ken_Cust0mT0"

CUSTOM_FIXTURES = f"""\
version: 1
customers:
  - id: {CUSTOM_CUSTOMER}
    name: Custom customer
    keys:
      - id: {CUSTOM_KEY_ID}
        name: Custom key
        token: {CUSTOM_TOKEN}
        expire: 31536000
"""

# Shared by every inner test module: constants and a standard-library socket client.
HEADER = f"""\
import json
import pathlib
import urllib.error
import urllib.request

import pytest

HERE = pathlib.Path(__file__).parent
NOW = {NOW!r}
TUTORIAL_TOKEN = {TUTORIAL_TOKEN!r}
TUTORIAL_KEY_ID = {TUTORIAL_KEY_ID!r}
CUSTOM_TOKEN = {CUSTOM_TOKEN!r}
CUSTOM_KEY_ID = {CUSTOM_KEY_ID!r}


def http(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        raw = err.read()
        return err.code, json.loads(raw) if raw else None


def create(fake, token=None):
    with fake.client(params={{"accesskey": token or fake.accesskey}}) as c:
        r = c.post("/accesskeys", json={{"expire": 86400}})
    assert r.status_code == 200, r.text
    return r.json()
"""


#: Plugins the inner runs do not need (they only slow each fresh pytest's start).
UNRELATED_PLUGINS = ("schemathesis", "hypothesispytest", "anyio")


def run_inner(pytester: pytest.Pytester, *args: str, timeout: float) -> pytest.RunResult:
    """pytest in a fresh process, with the fakevoipbin plugin from its entry point."""
    off = [arg for name in UNRELATED_PLUGINS for arg in ("-p", f"no:{name}")]
    return pytester.runpytest_subprocess(*off, *args, timeout=timeout)


def inner(body: str) -> str:
    return HEADER + "\n\n" + textwrap.dedent(body)


RESET_TESTS = inner(
    """
    SEEN = {}


    def test_1_dirty_everything(fakevoipbin):
        made = create(fakevoipbin)
        SEEN["key"] = made["id"]
        SEEN["server"] = id(fakevoipbin)
        SEEN["port"] = fakevoipbin.port
        fakevoipbin.faults.add("GetAccesskeys", status=503, times=None)
        fakevoipbin.add_customer("leftover")
        status, _ = http("GET", f"{fakevoipbin.url}/accesskeys?accesskey={TUTORIAL_TOKEN}")
        assert status == 503
        fakevoipbin.clock.advance(400 * 86400)  # past the tutorial key's year


    def test_2_all_of_it_is_gone(fakevoipbin):
        assert id(fakevoipbin) == SEEN["server"], "one server object for the session"
        assert fakevoipbin.port == SEEN["port"]
        assert fakevoipbin.faults.rules() == []
        key_url = f"{fakevoipbin.url}/accesskeys/{SEEN['key']}?accesskey={TUTORIAL_TOKEN}"
        status, _ = http("GET", key_url)
        assert status == 404, "the key created in test 1 is gone"
        status, body = http("GET", f"{fakevoipbin.url}/accesskeys?accesskey={TUTORIAL_TOKEN}")
        assert status == 200, "the fault of test 1 no longer fires, the clock is back"
        assert [k["id"] for k in body["result"]] == [TUTORIAL_KEY_ID]
        status, state = http("GET", f"{fakevoipbin.base_url}/_fake/state")
        assert "leftover" not in [c["name"] for c in state["customers"]]


    def test_3_socket_and_in_process_clients(fakevoipbin):
        assert id(fakevoipbin) == SEEN["server"]
        url = f"{fakevoipbin.url}/accesskeys?accesskey={TUTORIAL_TOKEN}"
        status, by_socket = http("POST", url, {"name": "socket", "expire": 86400})
        assert status == 200
        with fakevoipbin.client(params={"accesskey": TUTORIAL_TOKEN}) as c:
            r = c.get(f"/accesskeys/{by_socket['id']}")
            assert r.status_code == 200 and r.json()["name"] == "socket"
            in_process = c.post("/accesskeys", json={"name": "in-process", "expire": 86400}).json()
        key_url = f"{fakevoipbin.url}/accesskeys/{in_process['id']}?accesskey={TUTORIAL_TOKEN}"
        status, body = http("GET", key_url)
        assert status == 200 and body["name"] == "in-process"
        status, _ = http("GET", f"{fakevoipbin.url}/accesskeys?accesskey={in_process['token']}")
        assert status == 200
    """
)

MARKER_TESTS = inner(
    """
    IDS = {}


    @pytest.mark.fakevoipbin(profile="live")
    def test_live_profile(fakevoipbin):
        assert fakevoipbin.profile == "live"
        made = create(fakevoipbin)
        assert made["tm_update"] is None
        assert made["tm_delete"] is None


    def test_docs_profile_by_default(fakevoipbin):
        assert fakevoipbin.profile == "docs"
        made = create(fakevoipbin)
        assert made["tm_update"] == made["tm_create"]
        assert made["tm_delete"] == "9999-01-01T00:00:00.000000Z"


    @pytest.mark.fakevoipbin(seed=1)
    def test_seed_1(fakevoipbin):
        made = create(fakevoipbin)
        IDS["seed1"] = (made["id"], made["token"])


    def test_seed_default(fakevoipbin):
        made = create(fakevoipbin)
        IDS["seed0"] = (made["id"], made["token"])
        assert IDS["seed0"][0] != IDS["seed1"][0]
        assert IDS["seed0"][1] != IDS["seed1"][1]


    @pytest.mark.fakevoipbin(seed=1)
    def test_seed_1_again_is_the_same(fakevoipbin):
        made = create(fakevoipbin)
        assert (made["id"], made["token"]) == IDS["seed1"]


    @pytest.mark.fakevoipbin(now=NOW)
    def test_now_freezes_the_clock(fakevoipbin):
        assert fakevoipbin.clock.frozen
        assert fakevoipbin.clock.now_text() == NOW
        key_url = f"{fakevoipbin.url}/accesskeys/{TUTORIAL_KEY_ID}?accesskey={TUTORIAL_TOKEN}"
        status, key = http("GET", key_url)
        assert status == 200
        assert key["tm_create"] == NOW
        status, health = http("GET", f"{fakevoipbin.base_url}/_fake/health")
        assert health["clock"] == {"now": NOW, "frozen": True}


    def test_now_does_not_stick(fakevoipbin):
        assert not fakevoipbin.clock.frozen
        assert fakevoipbin.clock.now_text() != NOW
        status, health = http("GET", f"{fakevoipbin.base_url}/_fake/health")
        assert health["clock"]["frozen"] is False and health["clock"]["now"] != NOW


    @pytest.mark.fakevoipbin(fixtures=str(HERE / "custom.yaml"))
    def test_fixtures_replace_the_default_set(fakevoipbin):
        assert fakevoipbin.accesskey == CUSTOM_TOKEN
        status, body = http("GET", f"{fakevoipbin.url}/accesskeys?accesskey={CUSTOM_TOKEN}")
        assert status == 200
        assert [k["id"] for k in body["result"]] == [CUSTOM_KEY_ID]
        status, _ = http("GET", f"{fakevoipbin.url}/accesskeys?accesskey={TUTORIAL_TOKEN}")
        assert status == 401, "the default fixtures are not loaded"


    def test_default_fixtures_come_back(fakevoipbin):
        assert fakevoipbin.accesskey == TUTORIAL_TOKEN
        status, _ = http("GET", f"{fakevoipbin.url}/accesskeys?accesskey={CUSTOM_TOKEN}")
        assert status == 401


    @pytest.mark.fakevoipbin(rate_limit=True, now=NOW)
    def test_rate_limit(fakevoipbin):
        with fakevoipbin.client(params={"accesskey": TUTORIAL_TOKEN}) as c:
            statuses = [c.get("/accesskeys").status_code for _ in range(34)]
        assert statuses == [200] * 33 + [429]


    def test_rate_limit_off_again(fakevoipbin):
        with fakevoipbin.client(params={"accesskey": TUTORIAL_TOKEN}) as c:
            statuses = [c.get("/accesskeys").status_code for _ in range(60)]
        assert statuses == [200] * 60


    @pytest.mark.fakevoipbin(profile="live", seed=3, now=NOW)
    def test_options_combine(fakevoipbin):
        status, health = http("GET", f"{fakevoipbin.base_url}/_fake/health")
        assert (health["profile"], health["seed"]) == ("live", 3)
        assert health["clock"]["now"] == NOW


    class TestClassMarker:
        pytestmark = pytest.mark.fakevoipbin(profile="live")

        def test_class_marker_applies(self, fakevoipbin):
            assert fakevoipbin.profile == "live"
    """
)


def test_state_is_reset_between_tests_on_one_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_reset=RESET_TESTS)
    result = run_inner(pytester, "-v", timeout=120)
    result.assert_outcomes(passed=3)


def test_the_marker_sets_profile_seed_now_fixtures_and_rate_limit(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(".yaml", custom=CUSTOM_FIXTURES)
    pytester.makepyfile(test_markers=MARKER_TESTS)
    result = run_inner(pytester, "-v", "--strict-markers", timeout=120)
    result.assert_outcomes(passed=13)


def test_module_level_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_module_marker=inner(
            """
            pytestmark = pytest.mark.fakevoipbin(profile="live", now=NOW)


            def test_live_everywhere(fakevoipbin):
                assert fakevoipbin.profile == "live"
                assert create(fakevoipbin)["tm_update"] is None


            @pytest.mark.fakevoipbin(profile="docs")
            def test_closest_marker_wins(fakevoipbin):
                assert fakevoipbin.profile == "docs"
            """
        )
    )
    result = run_inner(pytester, timeout=120)
    result.assert_outcomes(passed=2)


def test_tls_and_intercept_markers_give_the_test_an_https_fake_of_its_own(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_tls_marker=inner(
            """
            import ssl
            import httpx

            SEEN = []


            def test_plain_first(fakevoipbin):
                SEEN.append(fakevoipbin.base_url)
                assert fakevoipbin.url.startswith("http://")


            @pytest.mark.fakevoipbin(tls=True, profile="live", now=NOW)
            def test_tls(fakevoipbin):
                assert fakevoipbin.url.startswith("https://")
                assert fakevoipbin.profile == "live" and fakevoipbin.clock.now_text() == NOW
                r = httpx.get(
                    f"{fakevoipbin.url}/accesskeys",
                    params={"accesskey": fakevoipbin.accesskey},
                    verify=ssl.create_default_context(cafile=str(fakevoipbin.ca_file)),
                )
                assert r.status_code == 200


            @pytest.mark.fakevoipbin(intercept=True)
            def test_intercept(fakevoipbin):
                with fakevoipbin.environ():
                    r = httpx.get(
                        "https://api.voipbin.net/v1.0/accesskeys",
                        params={"accesskey": fakevoipbin.accesskey},
                    )
                assert r.status_code == 200
                assert fakevoipbin.journal.calls("GetAccesskeys")[-1].intercepted


            def test_plain_after_is_the_sessions_fake_again(fakevoipbin):
                assert fakevoipbin.base_url == SEEN[0]
                assert fakevoipbin.url.startswith("http://")
            """
        )
    )
    result = run_inner(pytester, "-v", "-p", "no:randomly", timeout=180)
    result.assert_outcomes(passed=4)


def test_the_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = run_inner(pytester, "--markers", timeout=120)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["@pytest.mark.fakevoipbin(*"])


@pytest.mark.parametrize(
    ("marker", "named"),
    [
        ('colour="red"', "colour"),
        ('"live"', "keyword"),
    ],
)
def test_a_bad_marker_is_a_usage_error(pytester: pytest.Pytester, marker: str, named: str) -> None:
    pytester.makepyfile(
        test_bad_marker=inner(
            f"""
            @pytest.mark.fakevoipbin({marker})
            def test_bad(fakevoipbin):
                pass


            def test_fine_afterwards(fakevoipbin):
                assert fakevoipbin.profile == "docs"
            """
        )
    )
    result = run_inner(pytester, timeout=120)
    assert result.ret != 0
    result.assert_outcomes(passed=1, errors=1)
    text = result.stdout.str() + result.stderr.str()
    assert "UsageError" in text
    assert named in text
    assert "test_bad" in text


def test_works_under_xdist_one_server_per_worker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_parallel=inner(
            """
            import os


            def note(fake):
                worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
                with (HERE / "workers.log").open("a") as log:
                    log.write(f"{worker} {os.getpid()} {fake.port} {id(fake)}\\n")


            @pytest.mark.parametrize(
                "i",
                [0, 1, 2]
                + [
                    pytest.param(i, marks=pytest.mark.fakevoipbin(seed=i, now=NOW))
                    for i in (3, 4, 5)
                ],
            )
            def test_clean_state_each_time(fakevoipbin, i):
                note(fakevoipbin)
                url = f"{fakevoipbin.url}/accesskeys?accesskey={TUTORIAL_TOKEN}"
                status, body = http("GET", url)
                assert status == 200
                assert [k["id"] for k in body["result"]] == [TUTORIAL_KEY_ID]
                assert fakevoipbin.state.seed == (i if i >= 3 else 0)
                for _ in range(3):
                    create(fakevoipbin)
                assert len(http("GET", url)[1]["result"]) == 4
                fakevoipbin.faults.add("GetAccesskeys", status=503, times=None)
                assert http("GET", url)[0] == 503
            """
        )
    )
    result = run_inner(pytester, "-n", "2", "-p", "xdist", timeout=180)
    result.assert_outcomes(passed=6)

    lines = (pytester.path / "workers.log").read_text().split()
    rows = [lines[i : i + 4] for i in range(0, len(lines), 4)]
    assert len(rows) == 6
    by_worker: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
    for worker, pid, port, obj in rows:
        by_worker[worker].add((pid, port, obj))
    assert set(by_worker) == {"gw0", "gw1"}
    for worker, servers in by_worker.items():
        assert len(servers) == 1, f"{worker} started more than one server: {servers}"
    ports = {next(iter(s))[1] for s in by_worker.values()}
    assert len(ports) == 2, "each worker has its own server"
