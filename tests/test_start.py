"""What a fake's start does and does not load, and that the shortcuts keep behaviour.

A start to a first answer loads neither jsonschema (the compiled validators say yes;
jsonschema only explains a no, and is made on first need, once) nor the websockets
package (uvicorn runs with ``ws="none"``: an upgrade request is answered as any
other, as production does). The fixture file is checked by a compiled function
whose yes is final; jsonschema decides and explains the rest, as before. No timings
are asserted here (``make bench`` measures them).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from fakevoipbin import FakeVoipbin, fixtures
from fakevoipbin.assemble import build_state
from fakevoipbin.options import Options
from fakevoipbin.resources import default_fixtures_path
from fakevoipbin.server import ServeError, Server
from fakevoipbin.spec import CheckedSchema, Spec

ROOT = Path(__file__).resolve().parent.parent

_FIRST_ANSWER = """
import json, sys, urllib.error, urllib.request
from fakevoipbin.testing import FakeVoipbin
fake = FakeVoipbin().start()
urllib.request.urlopen(fake.url + "/accesskeys?accesskey=" + fake.accesskey).read()
loaded = {m: m in sys.modules for m in ("jsonschema", "referencing", "websockets",
                                         "cryptography", "fakevoipbin.tls")}
request = urllib.request.Request(
    fake.url + "/accesskeys?accesskey=" + fake.accesskey,
    data=b'{"expire": 5}', headers={"Content-Type": "application/json"}, method="POST")
try:
    urllib.request.urlopen(request)
    status, body = 200, None
except urllib.error.HTTPError as exc:
    status, body = exc.code, json.loads(exc.read())
print(json.dumps({"loaded": loaded, "status": status, "body": body,
                  "after": "jsonschema" in sys.modules}))
fake.stop()
"""


def test_a_start_to_a_first_answer_loads_neither_jsonschema_nor_websockets() -> None:
    env = {k: v for k, v in os.environ.items() if k != "FAKEVOIPBIN_CROSSCHECK"}
    out = subprocess.run(
        [sys.executable, "-c", _FIRST_ANSWER],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["loaded"] == {
        "jsonschema": False,
        "referencing": False,
        "websockets": False,
        # Plain HTTP: the TLS room and its library load only under --tls.
        "cryptography": False,
        "fakevoipbin.tls": False,
    }
    # The first no is explained by jsonschema, loaded then: production's 400 in the
    # envelope, with the field and rule.
    assert seen["status"] == 400 and seen["after"] is True
    assert "expire" in json.dumps(seen["body"])
    assert "Traceback" not in out.stderr


def _counting_factory(made: list[int]) -> Any:
    def make() -> Any:
        made.append(1)
        return Draft202012Validator({"type": "integer"})

    return make


def test_the_jsonschema_validator_is_made_once_on_first_need() -> None:
    made: list[int] = []
    checked = CheckedSchema(_counting_factory(made), lambda x: type(x) is int, False)
    assert checked.is_valid(3) and list(checked.iter_errors(3)) == []
    assert made == []  # a yes needs no jsonschema
    barrier = threading.Barrier(8)
    results: list[int] = []

    def explain() -> None:
        barrier.wait()
        results.append(len(list(checked.iter_errors("x"))))

    threads = [threading.Thread(target=explain) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [1] * 8 and made == [1]
    assert checked.slow is checked.slow and made == [1]


def test_a_schema_the_compiler_refused_is_judged_by_jsonschema_made_once() -> None:
    made: list[int] = []
    checked = CheckedSchema(_counting_factory(made), None, False)
    assert made == []
    assert checked.is_valid(1) and not checked.is_valid(1.5) and not checked.is_valid("1")
    assert made == [1]


def test_each_spec_validator_makes_its_jsonschema_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the crosscheck, a spec's validators make no jsonschema validator until a
    no is explained, and each makes one; the registry is made once for all."""
    monkeypatch.setenv("FAKEVOIPBIN_CROSSCHECK", "0")
    spec = Spec()
    create = spec.operations["PostAccesskeys"]
    assert create.body_validator is not None
    assert create.body_validator._slow is None and spec._registry is None
    first = spec.check_body(create, {"expire": 5})
    slow = create.body_validator.slow
    registry = spec.registry
    assert [f.rule for f in first] == ["minimum"]
    assert [f.rule for f in spec.check_body(create, {"expire": "x"})] == ["type"]
    assert create.body_validator.slow is slow and spec.registry is registry
    assert spec.check_body(create, {"expire": 86400}) == []


def _default_doc() -> Any:
    return yaml.safe_load(default_fixtures_path().read_text(encoding="utf-8"))


def _edited(edit: Any) -> Any:
    doc = _default_doc()
    edit(doc)
    return doc


_FIXTURE_DOCS = {
    "default": _default_doc(),
    "empty": {"customers": []},
    "no customers": {},
    "not an object": [],
    "unknown top key": {"customers": [], "extra": 1},
    "version 2": {"version": 2, "customers": []},
    "version 1.0": {"version": 1.0, "customers": []},
    "bad uuid": {"customers": [{"id": "nope"}]},
    "frozen as text": {"customers": [{"frozen": "yes"}]},
    "created_ago -1": {"customers": [{"created_ago": -1}]},
    "created_ago 1.0": {"customers": [{"created_ago": 1.0}]},
    "expire 1.0": {"customers": [{"keys": [{"expire": 1.0}]}]},
    "expire True": {"customers": [{"keys": [{"expire": True}]}]},
    "bad token": {"customers": [{"keys": [{"token": "vb_short"}]}]},
    "long key name": {"customers": [{"keys": [{"name": "n" * 256}]}]},
    "user without password": {"customers": [{"users": [{"username": "a", "permission": 1}]}]},
    "permission float": _edited(
        lambda d: d["customers"][0]["users"][0].__setitem__("permission", 32.0)
    ),
    "permission unknown": _edited(
        lambda d: d["customers"][0]["users"][0].__setitem__("permission", "owner")
    ),
    "address field unknown": _edited(
        lambda d: d["customers"][0]["users"][0].__setitem__("addresses", [{"x": "1"}])
    ),
    "metadata extra": {"customers": [{"metadata": {"rtp_debug": True, "x": 1}}]},
    "status unknown": {"customers": [{"status": "sleeping"}]},
}


@pytest.mark.parametrize("name", sorted(_FIXTURE_DOCS))
def test_the_fixture_check_answers_as_jsonschema_alone(name: str) -> None:
    """The compiled fixture check's yes is never looser than jsonschema, and a no gets
    jsonschema's own verdict and first error, so a file loads (or fails, with the same
    message) exactly as when jsonschema checked every file."""
    doc = _FIXTURE_DOCS[name]
    plain = Draft202012Validator(fixtures._SCHEMA)
    expected = sorted(plain.iter_errors(doc), key=lambda e: list(e.absolute_path))
    got = fixtures._problems(doc)
    assert [(list(e.absolute_path), e.message) for e in got] == [
        (list(e.absolute_path), e.message) for e in expected
    ]
    fast = fixtures._fast_check()
    assert fast is not None  # the fixture schema needs no fallback
    if fast(doc):
        assert plain.is_valid(doc)


def test_a_fixture_file_jsonschema_refuses_is_refused_with_its_message() -> None:
    """The place and the rule, never the value (a message must not echo a file)."""
    with pytest.raises(fixtures.FixtureError, match=r"^<data>: at customers/0/id: must be a UUID$"):
        fixtures.parse_fixtures({"customers": [{"id": "nope"}]})


def _raw_get(fake: FakeVoipbin, path: str, extra: bytes) -> bytes:
    """The status line and body of a GET sent as raw bytes (headers vary by time)."""
    with socket.create_connection((fake.host, fake.port), timeout=10) as sock:
        sock.sendall(
            b"GET "
            + path.encode()
            + b" HTTP/1.1\r\nHost: fake\r\n"
            + extra
            + b"Connection: close\r\n\r\n"
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0]
    return status + b"\n" + body


_UPGRADE = (
    b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)


@pytest.mark.parametrize("profile", ["docs", "live"])
def test_a_websocket_upgrade_is_answered_as_the_same_request_without_it(
    profile: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """Production upgrades no route: a WebSocket handshake gets the plain answer (was
    a 500 from the router while uvicorn loaded websockets), and nothing is logged."""
    with FakeVoipbin(profile=profile, now="2026-12-01T10:15:30.123456Z") as fake:
        for path in (
            "/v1.0/accesskeys?accesskey=" + fake.accesskey,
            "/v1.0/accesskeys",
            "/v1.0/calls",
            "/nowhere",
        ):
            plain = _raw_get(fake, path, b"")
            fake.reset()
            upgraded = _raw_get(fake, path, _UPGRADE)
            fake.reset()
            assert upgraded == plain, path
            assert not upgraded.startswith(b"HTTP/1.1 5"), path
    err = capfd.readouterr().err
    assert "upgrade" not in err.lower() and "websocket" not in err.lower(), err


async def _failing_lifespan(scope: Any, receive: Any, send: Any) -> None:
    assert scope["type"] == "lifespan"
    await receive()
    await send({"type": "lifespan.startup.failed", "message": "no"})


# uvicorn ends a failed startup with sys.exit in the server's thread (threading
# ignores it; pytest reports any exception a thread ends with).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_server_whose_startup_fails_is_a_serve_error_and_frees_its_port(
    capfd: pytest.CaptureFixture[str],
) -> None:
    options = Options.for_face("python")
    server = Server(_failing_lifespan, build_state(options), options).open()
    with pytest.raises(ServeError, match="did not start"):
        server.start()
    assert server.sock is None
    capfd.readouterr()
