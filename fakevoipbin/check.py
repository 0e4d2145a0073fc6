"""``fakevoipbin check FILE.har``: judge traffic someone captured (a browser's devtools,
mitmproxy, ``proxy --har``) as the proxy judges live traffic, and report on it as
``run`` and ``proxy`` do.

A command on top of the faces: the HAR is read by ``core/har.read_har``, each exchange
with the API is replayed through the proxy's own checks (``proxy/replay.py``), and
the report, its files and the exit code are the ones ``run`` and ``proxy`` give
(``checks/report.finish``). Exit codes: 0; 1 under ``--strict`` when a request broke
the spec, an answer drifted, or nothing was judged; 2 when the HAR cannot be read
(one line naming what and where) or a file cannot be written.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .checks.report import ClientReport, finish, report_paths_problem, unwritable
from .core.har import Captured, HarError, read_har
from .core.journal import Journal
from .core.printable import shown
from .core.profiles import get_profile
from .exitcodes import OK, USAGE
from .options import Options
from .proxy.record import Recording
from .proxy.replay import NOT_THE_API, not_judged, replay
from .spec import default_spec

WHO = "fakevoipbin check"
#: How many of the exchanges left out the output lists (each with its count).
MAX_LISTED = 20


def check_har(path: str, options: Options, record: str | None = None) -> int:
    """Judge the HAR at ``path`` by ``options.profile``, print the report and write
    its files (``options``: report, junit, ...; ``record``: the fixtures the answers
    show, fresh tokens from ``options.seed``). The exit code, as above."""
    if report_paths_problem(options, WHO):
        return USAGE
    if record:
        problem = unwritable(Path(record))
        if problem:
            sys.stderr.write(f"{WHO}: cannot write {record}: {problem}\n")
            return USAGE
    try:
        exchanges = read_har(load(Path(path)))
    except HarError as exc:
        sys.stderr.write(f"{WHO}: {path}: {exc}\n")
        return USAGE
    judged: list[Captured] = []
    left_out: Counter[str] = Counter()
    elsewhere: Counter[str] = Counter()
    for c in exchanges:
        why = not_judged(c)
        if why is None:
            judged.append(c)
            continue
        left_out[why] += 1
        if why == NOT_THE_API:
            parts = urlsplit(c.url)
            elsewhere[f"{c.method} {parts.scheme}://{parts.netloc}{parts.path}"] += 1
    spec = default_spec()
    journal = Journal(max(1, len(judged)))
    origins = sorted({f"{urlsplit(c.url).scheme}://{urlsplit(c.url).netloc}" for c in judged})
    found = ClientReport(spec, upstream=", ".join(origins) or "none", source=path)
    journal.observers.append(found.observe)
    recording = Recording() if record else None
    replay(
        judged,
        spec,
        get_profile(options.profile),
        journal,
        observe=recording.observe if recording is not None else None,
    )
    print(_summary(path, options.profile, len(exchanges), len(judged), left_out, elsewhere))
    code = finish(
        found,
        OK,
        options,
        WHO,
        f"the API in {path}",
        no_traffic_hint="check judges the entries whose URL path is under /v1.0 or /auth/",
    )
    if recording is not None and record:
        try:
            recording.write(Path(record), options.seed, time.time_ns() // 1000, path)
        except OSError as exc:
            sys.stderr.write(f"{WHO}: cannot write {record}: {exc.strerror}\n")
            return USAGE
        customers, keys = recording.counts
        print(
            f"{WHO}: recorded {customers} customer(s) and {keys} key(s) to {record} "
            f"(fresh tokens from seed {options.seed}; load it with serve --fixtures)"
        )
    return code


def load(path: Path) -> Any:
    """The HAR file's JSON, or a ``HarError`` saying why it cannot be had."""
    if path.is_dir():
        raise HarError("is a folder, not a HAR file")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise HarError("no such file") from None
    except OSError as exc:
        raise HarError(f"cannot be read: {exc.strerror or type(exc).__name__}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HarError(f"is not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise HarError("is empty, not a HAR file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise HarError(f"is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise HarError("is not JSON this reads (nested too deep)") from None


def _summary(
    path: str,
    profile: str,
    total: int,
    judged: int,
    left_out: Counter[str],
    elsewhere: Counter[str],
) -> str:
    lines = [f"{WHO}: {path}: {total} entries, {judged} judged (profile {profile})"]
    if left_out:
        why = ", ".join(f"{reason}: {n}" for reason, n in sorted(left_out.items()))
        lines.append(f"  not judged: {sum(left_out.values())} ({why})")
        for what, n in elsewhere.most_common(MAX_LISTED):
            lines.append(shown(f"  {n:>5} × {what}"))
        if len(elsewhere) > MAX_LISTED:
            lines.append(f"  … and {len(elsewhere) - MAX_LISTED} more URL(s)")
    return "\n".join(lines) + "\n"
