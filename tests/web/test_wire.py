"""web/wire.py's reading of a request's head, over a real socket, with each of
uvicorn's parsers: a request line and headers up to production's 1 MiB (Go's
``http.Server`` default ``MaxHeaderBytes``) reach the API, whatever the request line's
length; a longer head is a 431 in the API's envelope, and the server keeps serving."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from fakevoipbin import FakeVoipbin
from fakevoipbin.web import wire

from ..conftest import NOW, TUTORIAL_TOKEN

AUTH = {"Authorization": f"Bearer {TUTORIAL_TOKEN}"}


@pytest.fixture(params=["h11", "httptools"])
def fake(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeVoipbin]:
    chosen = wire.protocol(request.param)
    monkeypatch.setattr(wire, "protocol", lambda parser="auto": chosen)
    with FakeVoipbin(now=NOW, port=0) as served:
        yield served


def exchange(fake: FakeVoipbin, head: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send a request head on a fresh connection; the status, headers and body read
    back until the server closes."""
    with socket.create_connection(("127.0.0.1", fake.port), timeout=30) as sock:
        sock.sendall(head)
        got = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
            if b"\r\n\r\n" in got:
                top, _, body = got.partition(b"\r\n\r\n")
                lines = top.decode("latin-1").split("\r\n")
                headers = dict(line.split(": ", 1) for line in lines[1:])
                headers = {k.lower(): v for k, v in headers.items()}
                if len(body) >= int(headers.get("content-length", "0")):
                    return int(lines[0].split()[1]), headers, body
    raise AssertionError(f"no whole answer: {got[:200]!r}")


def get(target: bytes, extra: bytes = b"") -> bytes:
    auth = b"Authorization: Bearer " + TUTORIAL_TOKEN.encode() + b"\r\n"
    return b"GET " + target + b" HTTP/1.1\r\nHost: fake\r\n" + auth + extra + b"\r\n"


def test_a_request_line_past_64_kib_reaches_the_api_and_the_journal(fake: FakeVoipbin) -> None:
    filler = b"f" * 200_000
    status, headers, body = exchange(fake, get(b"/v1.0/accesskeys?page_size=5&x=" + filler))
    assert status == 200, body[:200]
    assert headers["content-type"].startswith("application/json")
    (entry,) = fake.journal.entries()
    assert entry.operation_id == "GetAccesskeys" and entry.status == 200
    assert entry.query["page_size"] == ["5"] and entry.query["x"] == [filler.decode()]


def test_a_head_of_almost_1_mib_is_read(fake: FakeVoipbin) -> None:
    headers = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"p" * 1000) for i in range(1000))
    assert 1_000_000 < len(get(b"/v1.0/accesskeys", headers)) < wire.MAX_HEAD_BYTES
    status, _headers, body = exchange(fake, get(b"/v1.0/accesskeys", headers))
    assert status == 200, body[:200]


@pytest.mark.parametrize("where", ["request line", "headers"])
def test_a_head_over_1_mib_is_a_431_in_the_envelope(fake: FakeVoipbin, where: str) -> None:
    if where == "request line":
        head = get(b"/v1.0/accesskeys?x=" + b"f" * wire.MAX_HEAD_BYTES)
    else:
        head = get(
            b"/v1.0/accesskeys",
            b"".join(b"X-Pad-%d: %s\r\n" % (i, b"p" * 1000) for i in range(1100)),
        )
    assert len(head) > wire.MAX_HEAD_BYTES
    status, headers, body = exchange(fake, head)
    assert status == 431
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["connection"] == "close"
    error = json.loads(body)["error"]
    assert error["reason"] == "REQUEST_HEADER_FIELDS_TOO_LARGE"
    assert error["message"] == "The request line and headers are over 1 MiB."
    assert fake.journal.entries() == []  # the API never saw it
    assert httpx.get(fake.url + "/accesskeys", headers=AUTH).status_code == 200


def test_the_limit_is_per_request_on_a_kept_alive_connection(fake: FakeVoipbin) -> None:
    pad = {"X-Pad": "p" * 600_000}
    with httpx.Client(timeout=30) as c:
        for _ in range(3):  # 1.8 MB of heads on one connection, each under 1 MiB
            r = c.post(fake.url + "/accesskeys", headers={**AUTH, **pad}, json={"expire": 86400})
            assert r.status_code == 200
    assert len(fake.journal.entries()) == 3


@pytest.mark.parametrize(
    "head", [b"GARBAGE\r\n\r\n", b"GET /v1.0/accesskeys HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n"]
)
def test_what_is_not_http_gets_the_parsers_plain_400_as_the_readme_says(
    fake: FakeVoipbin, head: bytes
) -> None:
    status, headers, body = exchange(fake, head)
    assert (status, headers["content-type"]) == (400, "text/plain; charset=utf-8")
    assert body == b"Invalid HTTP request received."
    assert fake.journal.entries() == []
