"""HAR 1.2 (the HTTP Archive format browsers' devtools read and write), both ways.

Out: ``har_log`` turns the journal's exchanges (``Journal.exchanges``: each ``Entry``
with its ``Answer``) into a HAR log, redacted as the journal is (the request's target,
kept headers and body; the answer's kept headers and body), with the fake's own
verdicts in ``_``-prefixed fields, as HAR allows: ``_seq``, ``_operationId``,
``_requestViolations``, ``_responseViolations``, ``_fault``, ``_drift``,
``_intercepted`` (and ``_reason``, ``_auth``, ``_modelled``, ``_answeredBy``). The
journal does not time an exchange: ``time`` and each timing are 0.

In: ``read_har`` reads a HAR someone captured (a browser's devtools, mitmproxy, the
proxy's own ``--har``) into ``Captured`` exchanges, or raises ``HarError`` naming
what is wrong and where (``entries[3].response.status is missing``). It reads only
what judging needs and ignores the rest (``pages``, Chrome's ``_initiator`` and
``_resourceType``, timings).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from .journal import Answer, Entry

HAR_VERSION = "1.2"
HTTP_VERSION = "HTTP/1.1"
#: An exchange's timings: the journal keeps none.
_TIMINGS = {"blocked": -1, "dns": -1, "connect": -1, "ssl": -1, "send": 0, "wait": 0, "receive": 0}


# --- out ---------------------------------------------------------------------------------


def har_log(
    exchanges: Iterable[tuple[Entry, Answer]], root: str, creator_version: str
) -> dict[str, Any]:
    """A HAR 1.2 document of ``exchanges``, each request's URL under ``root`` (the
    server's scheme, host and port, e.g. ``http://127.0.0.1:8088``)."""
    return {
        "log": {
            "version": HAR_VERSION,
            "creator": {"name": "fakevoipbin", "version": creator_version},
            # optional in HAR 1.2, but some readers expect the list
            "pages": [],
            "entries": [har_entry(entry, answer, root) for entry, answer in exchanges],
            "comment": "credentials and secrets redacted as the fakevoipbin journal "
            "redacts them; the fake's verdicts are in the _-prefixed fields",
        }
    }


def har_text(exchanges: Iterable[tuple[Entry, Answer]], root: str, creator_version: str) -> str:
    """``har_log`` as the text of a .har file."""
    return json.dumps(har_log(exchanges, root, creator_version), indent=1)


def har_entry(entry: Entry, answer: Answer, root: str) -> dict[str, Any]:
    """One exchange as a HAR entry."""
    return {
        "startedDateTime": entry.time,
        "time": 0,
        "request": _request(entry, root),
        "response": _response(entry, answer),
        "cache": {},
        "timings": dict(_TIMINGS),
        "_seq": entry.seq,
        "_operationId": entry.operation_id,
        "_modelled": entry.modelled,
        "_auth": entry.auth,
        "_reason": entry.reason,
        "_requestViolations": entry.request_violations,
        "_responseViolations": entry.response_violations,
        "_fault": entry.fault,
        "_drift": entry.drift,
        "_intercepted": entry.intercepted,
        "_answeredBy": entry.answered_by,
    }


def _pairs(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in values.items()]


def _request(entry: Entry, root: str) -> dict[str, Any]:
    query = [
        {"name": name, "value": value} for name, values in entry.query.items() for value in values
    ]
    request: dict[str, Any] = {
        "method": entry.method,
        "url": root.rstrip("/") + entry.target,
        "httpVersion": HTTP_VERSION,
        "cookies": [],
        "headers": _pairs(entry.headers),
        "queryString": query,
        "headersSize": -1,
        "bodySize": 0,
    }
    text = _text(entry.json, entry.body)
    if text is not None:
        mime = entry.headers.get(
            "content-type", "application/json" if entry.json is not None else ""
        )
        request["postData"] = {"mimeType": mime, "text": text}
        if entry.body_truncated:
            request["postData"]["_cut"] = True
            request["postData"]["comment"] = "cut: the journal keeps the first 4096 bytes"
        request["bodySize"] = -1 if entry.body_truncated else len(text.encode("utf-8"))
    return request


def _response(entry: Entry, answer: Answer) -> dict[str, Any]:
    text = _text(answer.json, answer.body)
    content: dict[str, Any] = {
        "size": answer.size,
        "mimeType": answer.headers.get("content-type", ""),
    }
    if text is not None:
        content["text"] = text
    if answer.truncated:
        content["_cut"] = True
        content["comment"] = "cut: the journal keeps the first 4096 bytes"
    headers = {k: v for k, v in answer.headers.items() if k != "content-encoding"}
    return {
        "status": entry.status,
        "statusText": _status_text(entry.status),
        "httpVersion": HTTP_VERSION,
        "cookies": [],
        "headers": _pairs(headers),
        "content": content,
        "redirectURL": answer.headers.get("location", ""),
        "headersSize": -1,
        "bodySize": answer.size,
    }


def _text(parsed: Any, body: str | None) -> str | None:
    """A body as HAR text: JSON written back (redacted), or the redacted text."""
    if parsed is not None:
        return json.dumps(parsed, ensure_ascii=False)
    return body


def _status_text(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


# --- in ----------------------------------------------------------------------------------


class HarError(ValueError):
    """A HAR that cannot be read: what is wrong and where, in one line."""


@dataclass(frozen=True)
class Captured:
    """One exchange of a captured HAR: ``index`` in ``log.entries``, the request
    (``method``, ``url``, ``headers`` as (name, value) pairs, ``body`` bytes) and the
    answer (``status``, ``answer_headers``, ``answer`` bytes: None when the HAR does
    not hold the body the answer had). ``answered_by`` and ``cut`` are a fakevoipbin
    HAR's: who answered (``"proxy"``: the proxy in the upstream's place) and whether
    the request's or the answer's body was cut (``_cut``)."""

    index: int
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    status: int
    answer_headers: tuple[tuple[str, str], ...]
    answer: bytes | None
    answered_by: str | None = None
    cut: bool = False

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


def read_har(data: Any) -> list[Captured]:
    """The exchanges of a HAR document (JSON already parsed), in its order; a
    ``HarError`` naming the first thing that cannot be read."""
    log = _field(data, "log", dict, "the HAR")
    entries = _field(log, "entries", list, "log")
    return [_captured(i, e) for i, e in enumerate(entries)]


def _kind(kind: type | tuple[type, ...]) -> str:
    names = {dict: "an object", list: "a list", str: "a string", int: "a whole number"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _field(obj: Any, name: str, kind: type | tuple[type, ...], where: str) -> Any:
    """``obj[name]``, which must be there and of ``kind``."""
    if not isinstance(obj, dict):
        raise HarError(f"{where} is not an object")
    path = name if where == "the HAR" else f"{where}.{name}"
    if name not in obj:
        raise HarError(f"{path} is missing")
    value = obj[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise HarError(f"{path} is not {_kind(kind)}")
    return value


def _optional(obj: dict[str, Any], name: str, kind: type, where: str, default: Any) -> Any:
    if obj.get(name) is None:
        return default
    return _field(obj, name, kind, where)


def _headers(obj: dict[str, Any], where: str) -> tuple[tuple[str, str], ...]:
    found = _optional(obj, "headers", list, where, [])
    pairs = []
    for i, h in enumerate(found):
        at = f"{where}.headers[{i}]"
        pairs.append((_field(h, "name", str, at), _field(h, "value", str, at)))
    return tuple(pairs)


def _bytes(obj: dict[str, Any], where: str) -> bytes | None:
    """The body of a postData or content object: its ``text``, base64 when its
    ``encoding`` says so; None when it has no text."""
    text: str | None = _optional(obj, "text", str, where, None)
    if text is None:
        return None
    encoding = _optional(obj, "encoding", str, where, "")
    if encoding == "base64":
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise HarError(f"{where}.text is not base64") from None
    if encoding:
        raise HarError(f"{where}.encoding {encoding!r} is not one fakevoipbin reads (base64)")
    return text.encode("utf-8", "surrogatepass")


def _captured(i: int, entry: Any) -> Captured:
    where = f"entries[{i}]"
    if not isinstance(entry, dict):
        raise HarError(f"{where} is not an object")
    request = _field(entry, "request", dict, where)
    response = _field(entry, "response", dict, where)
    at, answer_at = f"{where}.request", f"{where}.response"
    method = _field(request, "method", str, at)
    url = _field(request, "url", str, at)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise HarError(f"{at}.url {url[:80]!r} is not an http:// or https:// URL")
    post = _optional(request, "postData", dict, at, {})
    body = _bytes(post, f"{at}.postData") or b""
    status = _field(response, "status", int, answer_at)
    content = _optional(response, "content", dict, answer_at, {})
    answer = _bytes(content, f"{answer_at}.content")
    if answer is None:
        size = content.get("size")
        # no text: an empty body when the HAR says it had none, else not captured
        answer = b"" if size == 0 or status in (204, 304) else None
    answered_by = entry.get("_answeredBy")
    return Captured(
        index=i,
        method=method,
        url=url,
        headers=_headers(request, at),
        body=body,
        status=status,
        answer_headers=_headers(response, answer_at),
        answer=answer,
        answered_by=answered_by if isinstance(answered_by, str) else None,
        cut=content.get("_cut") is True or post.get("_cut") is True,
    )
