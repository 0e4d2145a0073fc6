"""``fakevoipbin verify``: run the contract machine against a server and say, rule by
rule, what held and what broke, with the shortest HTTP sequence found for each breach.

A run has two phases: the examples (every rule checked, nothing raised), then, for each
broken rule, a shrinking run that raises on that rule alone; every failing replay's
exchanges are kept and the shortest is printed, as HTTP, with a ``curl`` line for its
last request. ``max_requests`` and ``timeout`` bound both phases (cleanup goes past
them); shrinking one rule is also bounded by ``SHRINK_REQUESTS``.

Nothing printed holds a raw token: both streams pass through ``target.redact``.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import httpx
from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.reporting import with_reporter
from hypothesis.stateful import run_state_machine_as_test

from ..checks.exchange_rules import token_problem
from ..exitcodes import VERIFY_BROKEN, VERIFY_HELD, VERIFY_UNPROVEN, VERIFY_UNUSABLE
from .machine import RULES, Breach, Recorder, TargetLost, make_machine, repeated_ids
from .strategies import NAME_PREFIX
from .target import BoundReached, Exchange, Target, TargetError, clip, redact

STEPS = 25
#: Shrinking one broken rule makes at most this many requests; then the shortest
#: failing sequence seen so far is the one shown.
SHRINK_REQUESTS = 1000
#: Progress goes to stderr at most this often (seconds of ``monotonic``).
PROGRESS_EVERY_S = 2.0
#: The most exchanges printed for one sequence (the first few and the last ones).
SHOWN_EXCHANGES = 40

# verify's exit codes, named once in fakevoipbin/exitcodes.py.
EXIT_HELD = VERIFY_HELD
EXIT_BROKEN = VERIFY_BROKEN
EXIT_UNUSABLE = VERIFY_UNUSABLE
EXIT_UNPROVEN = VERIFY_UNPROVEN


def _settings(examples: int, shrink: bool) -> settings:
    phases = [Phase.explicit, Phase.reuse, Phase.generate]
    if shrink:
        phases.append(Phase.shrink)
    return settings(
        max_examples=examples,
        stateful_step_count=STEPS,
        deadline=None,
        database=None,
        derandomize=False,  # the seed decides, whatever profile is loaded
        print_blob=False,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )


class _Redacted:
    """A text stream that masks every credential the run knows before writing."""

    def __init__(self, stream: TextIO, secrets: Callable[[], set[str]]) -> None:
        self.stream, self.secrets = stream, secrets

    def write(self, text: str) -> None:
        self.stream.write(redact(text, self.secrets()))

    def flush(self) -> None:
        self.stream.flush()


class _Progress:
    """A line on stderr at most every ``PROGRESS_EVERY_S``, after a request: examples
    run (never past the total) and requests sent, or the rule being shrunk."""

    def __init__(
        self,
        out: _Redacted,
        target: Target,
        recorder: Recorder,
        total: int,
        monotonic: Callable[[], float],
    ) -> None:
        self.out, self.target, self.recorder, self.total = out, target, recorder, total
        self.monotonic = monotonic
        self.last = monotonic()
        self.shrinking = ""

    def tick(self) -> None:
        now = self.monotonic()
        if now - self.last < PROGRESS_EVERY_S:
            return
        self.last = now
        if self.shrinking:
            what = f"shrinking {self.shrinking}"
        else:
            what = f"{min(self.recorder.examples, self.total)}/{self.total} examples"
        self.out.write(f"verify: {what}, {self.target.requests} requests\n")
        self.out.flush()


def _run(target: Target, recorder: Recorder, examples: int, seed: int, shrink: bool) -> None:
    machine = make_machine(target, recorder)
    hypothesis_seed(seed)(machine)
    with with_reporter(lambda _value: None):  # the verdict is printed as HTTP instead
        run_state_machine_as_test(machine, settings=_settings(examples, shrink))


def shortest_breach(
    target: Target, rule_name: str, examples: int, seed: int
) -> tuple[Breach | None, BoundReached | None]:
    """Shrink towards the shortest request sequence that breaks one rule: the shortest
    breach seen in any failing replay (None if the breach did not happen again), and
    the bound that cut shrinking short, if one did."""
    recorder = Recorder(hard=frozenset({rule_name}))
    target.reached = None
    try:
        with target.limited(SHRINK_REQUESTS, f"{SHRINK_REQUESTS} requests of shrinking"):
            _run(target, recorder, examples, seed, shrink=True)
    except BoundReached:
        pass
    except Exception:  # noqa: BLE001 (ContractBroken, the usual end; or a flaky server)
        pass  # what the failing replays showed is in the recorder
    if target.lost:
        raise TargetLost(target.lost)
    return recorder.best.get(rule_name), target.reached


def cleanup(target: Target) -> int:
    """Put back what the run left behind, past any bound: the customer, when a PUT
    changed it and no teardown put it back; the keys it made and did not delete;
    elsewhere than a fake (where it had a customer of its own), also keys of earlier
    runs, recognised by the name prefix."""
    deleted = 0
    with target.unbounded():
        if target.customer_changed:  # a teardown cut short by the bound left it
            r = target.call(
                "PUT", "/customer", token=target.admin_token, json=target.customer_original
            )
            target.customer_changed = r.status_code != 200
        for key_id in [k for k in target.created if k not in target.deleted]:
            r = target.call("DELETE", f"/accesskeys/{key_id}", token=target.admin_token)
            deleted += r.status_code == 200
        if not target.is_fake:
            for key_id in _named_leftovers(target):
                r = target.call("DELETE", f"/accesskeys/{key_id}", token=target.admin_token)
                deleted += r.status_code == 200
    return deleted


def _named_leftovers(target: Target, max_pages: int = 20) -> list[str]:
    """Ids of listed keys named with the prefix, paged only while the list can be
    trusted (no repeated key, each token strictly earlier)."""
    found: list[str] = []
    seen: set[str] = set()
    sent: str | None = None
    for _ in range(max_pages):
        params: dict[str, Any] = {"page_size": 100, **({"page_token": sent} if sent else {})}
        r = target.call("GET", "/accesskeys", token=target.admin_token, params=params)
        if r.status_code != 200:
            break
        try:
            body = r.json()
        except ValueError:
            break
        result = body.get("result") if isinstance(body, dict) else None
        page = [k for k in result if isinstance(k, dict)] if isinstance(result, list) else []
        if not page or repeated_ids(seen, page):
            break
        for k in page:
            seen.add(str(k.get("id")))
            if str(k.get("name", "")).startswith(NAME_PREFIX) and k.get("id") not in target.deleted:
                found.append(str(k.get("id")))
        nxt = body.get("next_page_token")
        if not nxt or token_problem(sent, nxt, page):
            break
        sent = nxt
    return found


# --- printing a sequence as HTTP ----------------------------------------------------


def _request_line(ex: Exchange) -> str:
    body = "" if ex.body is None else " " + json.dumps(ex.body)
    return f"{ex.method} {ex.target}{body}"


def _made_by(exchanges: tuple[Exchange, ...], key_id: str) -> int | None:
    for n, ex in enumerate(exchanges, 1):
        if ex.method == "POST" and not ex.control and ex.status == 200 and key_id in ex.answer:
            return n
    return None


def _whose(ex: Exchange, exchanges: tuple[Exchange, ...], target: Target) -> str:
    """Whose credential ``ex`` carried, in words (empty for the run's admin key)."""
    if ex.key in ("", "admin"):
        return ""
    if ex.key == "accesskey":
        return "the key given to verify"
    if ex.key in target.created:
        n = _made_by(exchanges, ex.key)
        made = f"request {n}" if n else "an earlier request"
        return f"the token of the key made by {made}, {target.created[ex.key]}…"
    return "another key"


def _credential_note(ex: Exchange, exchanges: tuple[Exchange, ...], target: Target) -> str:
    whose = _whose(ex, exchanges, target)
    if whose:
        return f"VOIPBIN_API_KEY: {whose}; its token is not printed"
    if ex.key == "admin" and target.admin_token != target.accesskey:
        return (
            "VOIPBIN_API_KEY: the admin key of verify's own customer on the fake (made "
            "by POST /_fake/customers; its token is not printed); with a key of your "
            "own, repeat the whole sequence"
        )
    return "VOIPBIN_API_KEY: the key given to verify"


def _shell_double(text: str) -> str:
    for ch in ("\\", '"', "$", "`"):
        text = text.replace(ch, "\\" + ch)
    return text


def curl(ex: Exchange) -> str:
    """A curl command line that repeats ``ex``, its credential as $VOIPBIN_API_KEY."""
    url = _shell_double(ex.url) + ("&" if "?" in ex.url else "?") + "accesskey=$VOIPBIN_API_KEY"
    parts = ["curl", "-s", "-X", ex.method, f'"{url}"']
    if ex.body is not None:
        data = json.dumps(ex.body).replace("'", "'\\''")
        parts += ["--header", "'Content-Type: application/json'", "--data-raw", f"'{data}'"]
    return " ".join(parts)


def sequence_lines(breach: Breach, target: Target) -> list[str]:
    """The breach's exchanges as numbered HTTP requests with their statuses, the part
    of the last answer that broke the rule, and a curl line for that last request."""
    exchanges = breach.exchanges
    last = breach.request
    if last is None:
        return ["(no request was recorded)"]
    shown: list[tuple[int, Exchange | None]] = list(enumerate(exchanges, 1))
    if len(shown) > SHOWN_EXCHANGES:
        shown = [*shown[:5], (0, None), *shown[-(SHOWN_EXCHANGES - 5) :]]
    lines: list[str] = []
    for n, ex in shown:
        if ex is None:
            lines.append(f"… {len(exchanges) - SHOWN_EXCHANGES} more requests …")
            continue
        whose = _whose(ex, exchanges, target)
        as_whom = f"  (with {whose})" if whose else ""
        lines.append(f"{n:>2}  {_request_line(ex)}{as_whom} -> {ex.status}")
    lines.append(f"    broke it: {breach.evidence or clip(last.answer, 160) or '(empty body)'}")
    lines.append("repeat the last request:")
    lines.append(f"    {curl(last)}")
    lines.append(f"    ({_credential_note(last, exchanges, target)})")
    return lines


def _header(breach: Breach) -> str:
    ex = breach.request
    where = f"{ex.method} {ex.target} -> {ex.status}: " if ex is not None else ""
    return f"BROKEN {breach.rule}: {where}{breach.message}"


# --- the run --------------------------------------------------------------------------


def _requests(n: int) -> str:
    return "request" if n == 1 else "requests"


def _bad_settings(examples: int, max_requests: int | None, timeout: float | None) -> str | None:
    if examples < 1:
        return f"examples must be at least 1, not {examples}"
    if max_requests is not None and max_requests < 1:
        return f"max_requests must be at least 1, not {max_requests}"
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        return f"timeout must be a positive number of seconds, not {timeout}"
    return None


def verify(
    base_url: str,
    accesskey: str,
    *,
    profile: str | None = None,
    examples: int = 50,
    seed: int = 0,
    max_requests: int | None = None,
    timeout: float | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> int:
    """Run the contract and print the verdict. ``max_requests`` (API requests) and
    ``timeout`` (seconds of ``monotonic``) bound the run; ``sleep`` and ``monotonic``
    are how it waits and tells time. Returns ``EXIT_HELD`` (0) when every rule holds,
    ``EXIT_BROKEN`` (1) when one breaks (even if a bound stopped the run),
    ``EXIT_UNUSABLE`` (2) when the server or key cannot be used, and ``EXIT_UNPROVEN``
    (3) when a bound stopped the run before anything broke."""
    targets: list[Target] = []

    def secrets() -> set[str]:
        return targets[0].secrets() if targets else {accesskey}

    out_, err_ = _Redacted(out, secrets), _Redacted(err, secrets)
    problem = _bad_settings(examples, max_requests, timeout)
    if problem:
        err_.write(f"fakevoipbin verify: {problem}\n")
        return EXIT_UNUSABLE
    try:
        target = Target(
            base_url, accesskey, profile=profile, client=client, sleep=sleep, monotonic=monotonic
        )
        targets.append(target)
        # The bound counts from here: the credential check is a request of the run.
        target.bound(max_requests, timeout)
        target.check_credential()
        target.begin()
    except (TargetError, httpx.HTTPError) as exc:
        err_.write(f"fakevoipbin verify: {clip(str(exc), 300)}\n")
        return EXIT_UNUSABLE
    except BoundReached as exc:  # the credential check's 429s used the bound up
        err_.write(
            f"fakevoipbin verify: stopped by {exc.what} after {exc.requests} "
            f"{_requests(exc.requests)}, before the credential check was answered\n"
        )
        return EXIT_UNPROVEN
    fake_profile = target.health["profile"] if target.health else None
    if profile is not None and fake_profile is not None and fake_profile != profile:
        err_.write(
            f"warning: --profile {profile} differs from the fake's own profile {fake_profile}: "
            f"its answers are checked as {profile} says, so rules may break for that alone\n"
        )
    kind = "a fakevoipbin fake" if target.is_fake else "a server that is not fakevoipbin"
    bounds = "".join(
        (
            f", at most {max_requests} requests" if max_requests else "",
            f", at most {timeout:g} s" if timeout else "",
        )
    )
    out_.write(
        f"verify {base_url} ({kind}, profile {target.profile}, {examples} examples, "
        f"seed {seed}{bounds})\n"
    )
    started = monotonic()
    recorder = Recorder()
    progress = _Progress(err_, target, recorder, examples, monotonic)
    target.on_request = progress.tick
    stopped: BoundReached | None = None
    shrink_stopped: BoundReached | None = None
    lost = ""
    best: dict[str, Breach] = {}
    removed = 0
    try:
        try:
            _run(target, recorder, examples, seed, shrink=False)
        except (BoundReached, TargetLost):
            pass
        except Exception:
            if target.reached is None and not target.lost:
                raise
        # What stopped the run, whatever exception Hypothesis let out for it.
        stopped = target.reached
        if target.lost:
            raise TargetLost(target.lost)
        best = dict(recorder.best)
        if stopped is None:
            for name in recorder.broken:
                progress.shrinking = name
                found, stop = shortest_breach(target, name, max(examples, 20), seed)
                if found is not None and (
                    name not in best or len(found.exchanges) <= len(best[name].exchanges)
                ):
                    best[name] = found
                if stop is not None and stop.run_wide:
                    shrink_stopped = stop
                    break
    except TargetLost as exc:
        lost = f"lost the server mid-run: {clip(str(exc), 300)}"
        best = best or dict(recorder.best)
    except Exception as exc:  # noqa: BLE001 (a verdict, never a traceback)
        lost = f"the run stopped: {type(exc).__name__}: {clip(str(exc), 300)}"
        best = best or dict(recorder.best)
    finally:
        target.on_request = None
        # The run's requests: up to the bound that stopped it, or all before cleanup.
        cut = stopped or shrink_stopped
        made = target.requests if cut is None else cut.requests
        try:
            removed = cleanup(target)
            target.end()
        except (TargetError, httpx.HTTPError) as exc:
            err_.write(f"fakevoipbin verify: could not clean up: {clip(str(exc), 300)}\n")
    return _report(
        out_, err_, target, recorder, best, examples, stopped, shrink_stopped, lost,
        made, removed, monotonic() - started,
    )  # fmt: skip


def _report(
    out: _Redacted,
    err: _Redacted,
    target: Target,
    recorder: Recorder,
    best: dict[str, Breach],
    examples: int,
    stopped: BoundReached | None,
    shrink_stopped: BoundReached | None,
    lost: str,
    made: int,
    removed: int,
    took: float,
) -> int:
    """The verdict table, each broken rule's sequence, and one count of the run's
    requests (``made``: up to the bound that stopped it), said the same in every line;
    the requests cleanup made past it are said apart."""
    unfinished = stopped is not None or bool(lost)
    width = max(map(len, RULES))
    out.write(f"\n{'rule':<{width}} {'result':<8} {'checks':>7}  what it says\n")
    unproven: list[str] = []
    unused: list[str] = []
    for name, text in RULES.items():
        r = recorder.results[name]
        if r.breaches:
            verdict = "BROKEN"
        elif unfinished:
            verdict = "unproven"
            unproven.append(name)
        else:
            verdict = "held" if r.checks else "unused"
            if not r.checks:
                unused.append(name)
        out.write(f"{name:<{width}} {verdict:<8} {r.checks:>7}  {text}\n")
    broken = recorder.broken
    for name in broken:
        breach = best.get(name)
        if breach is None:
            out.write(f"\nBROKEN {name}: {recorder.results[name].first}\n")
            continue
        out.write(f"\n{_header(breach)}\n")
        count = len(breach.exchanges)
        out.write(f"shortest failing sequence found ({count} request{'s' * (count != 1)}):\n")
        for line in sequence_lines(breach, target):
            out.write(f"    {line}\n")
    ran = min(recorder.examples, examples)
    cleanup = target.requests - made
    then = f", then {cleanup} to clean up" if cleanup else ""
    out.write(
        f"\n{ran} of {examples} examples, {made} {_requests(made)} in {took:.1f} s{then}; "
        f"{removed} leftover keys deleted\n"
    )
    if shrink_stopped is not None:
        out.write(f"shrinking stopped by {shrink_stopped.what}: a shorter sequence may exist\n")
    if stopped is not None:
        out.write(
            f"stopped by {stopped.what} after {made} {_requests(made)}, before the "
            f"{examples} examples were done; unproven: {', '.join(unproven) or 'none'}\n"
        )
    if lost:
        err.write(f"fakevoipbin verify: {lost}\n")
        out.write(f"the run did not finish; unproven: {', '.join(unproven) or 'none'}\n")
    held = len(RULES) - len(broken) - len(unproven) - len(unused)
    tail = f", {len(unproven)} unproven" if unproven else ""
    if unused:  # e.g. the customer rules, on a server that does not serve /customer
        tail += f", {len(unused)} unused ({', '.join(unused)})"
    out.write(f"{held} rules held, {len(broken)} broken{tail}\n")
    if broken:
        return EXIT_BROKEN
    if lost:
        return EXIT_UNUSABLE
    return EXIT_UNPROVEN if stopped is not None else EXIT_HELD
