"""A stand-in for curl, for the README's samples where curl is not installed.

It knows the flags the samples use, as curl reads them: ``-s``/``--silent``,
``-S``/``--show-error``, ``-i``/``--include`` (short flags may be joined: ``-si``),
``-X``/``--request``, ``-H``/``--header``, ``-d``/``--data``/``--data-raw`` (a POST
with ``application/x-www-form-urlencoded`` unless a header says otherwise) and
``-w``/``--write-out`` with ``%{http_code}``, ``%{stderr}``, ``%{stdout}`` and ``\\n``.
It follows no redirect, as curl does not by default. Any other flag is refused (exit
2), so a sample that starts using one fails loudly here instead of passing untested.
A connection that fails is curl's exit 7.

``python tests/curl_shim.py ARGS…``
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from typing import IO

FLAGS = {"-s": "silent", "--silent": "silent", "-S": "show", "--show-error": "show"}
FLAGS |= {"-i": "include", "--include": "include"}
VALUED = {"-X": "method", "--request": "method", "-H": "header", "--header": "header"}
VALUED |= {"-d": "data", "--data": "data", "--data-raw": "data"}
VALUED |= {"-w": "write_out", "--write-out": "write_out"}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def parse(argv: list[str]) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {"url": []}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in VALUED:
            if i + 1 == len(argv):
                raise SystemExit(f"curl_shim: {arg} needs a value")
            seen.setdefault(VALUED[arg], []).append(argv[i + 1])
            i += 2
            continue
        if arg in FLAGS:
            seen.setdefault(FLAGS[arg], [])
        elif arg.startswith("-") and not arg.startswith("--") and len(arg) > 2:
            for letter in arg[1:]:  # joined short flags: -si
                if f"-{letter}" not in FLAGS:
                    raise SystemExit(f"curl_shim: does not know -{letter} (in {arg})")
                seen.setdefault(FLAGS[f"-{letter}"], [])
        elif arg.startswith("-"):
            raise SystemExit(f"curl_shim: does not know {arg}")
        else:
            seen["url"].append(arg)
        i += 1
    if len(seen["url"]) != 1:
        raise SystemExit(f"curl_shim: one URL, not {seen['url']}")
    return seen


def write_out(template: str, status: int) -> None:
    stream: IO[str] = sys.stdout
    text = template.replace("\\n", "\n")
    for part in text.replace("%{", "\0%{").split("\0"):
        for name, target in (("%{stderr}", sys.stderr), ("%{stdout}", sys.stdout)):
            if part.startswith(name):
                stream, part = target, part[len(name) :]
        stream.write(part.replace("%{http_code}", f"{status:03d}"))
        stream.flush()


def main(argv: list[str]) -> int:
    seen = parse(argv)
    data = seen["data"][-1].encode() if "data" in seen else None
    method = seen["method"][-1] if "method" in seen else ("POST" if data is not None else "GET")
    request = urllib.request.Request(seen["url"][0], data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    for header in seen.get("header", []):
        name, _, value = header.partition(":")
        request.add_header(name.strip(), value.strip())
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            status, reason, headers, body = (
                response.status,
                response.reason,
                response.headers,
                response.read(),
            )
    except urllib.error.HTTPError as err:
        status, reason, headers, body = err.code, err.reason, err.headers, err.read()
    except OSError as err:
        if "silent" not in seen or "show" in seen:
            print(f"curl: (7) {err}", file=sys.stderr)
        return 7
    out = sys.stdout.buffer
    if "include" in seen:
        out.write(f"HTTP/1.1 {status} {reason}\r\n".encode("latin-1"))
        for name, value in headers.items():
            out.write(f"{name}: {value}\r\n".encode("latin-1"))
        out.write(b"\r\n")
    out.write(body)
    out.flush()
    for template in seen.get("write_out", []):
        write_out(template, status)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
