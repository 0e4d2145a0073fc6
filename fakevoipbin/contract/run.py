"""``fakevoipbin run``: a client's tests against a fresh fake, and the report after."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from ..testing import FakeVoipbin
from .report import ClientReport


def run_client(args: argparse.Namespace, cmd: list[str]) -> int:
    fake = FakeVoipbin(
        profile=args.profile,
        seed=args.seed,
        now=args.now,
        fixtures=args.fixtures,
        rate_limit=args.rate_limit,
        host=args.host,
        port=args.port,
        response_validation="log",
    )
    report = ClientReport(fake.app.spec)
    fake.journal.observers.append(report.observe)
    with fake:
        env = {
            **os.environ,
            "FAKEVOIPBIN_URL": fake.url,
            "VOIPBIN_API_BASE_URL": fake.url,
            "FAKEVOIPBIN_ACCESSKEY": fake.accesskey,
            "VOIPBIN_API_KEY": fake.accesskey,
        }
        sys.stderr.write(
            f"fakevoipbin run: {fake.url} (profile {fake.profile}) -> {' '.join(cmd)}\n"
        )
        sys.stderr.flush()
        try:
            code = subprocess.call(cmd, env=env)
        except OSError as exc:
            sys.stderr.write(f"fakevoipbin run: cannot run {cmd[0]}: {exc.strerror}\n")
            return 127
    # The server has stopped: every request the client made is in the report.
    print(report.table())
    if args.report:
        Path(args.report).write_text(report.to_json(code), encoding="utf-8")
    if args.junit:
        Path(args.junit).write_text(report.junit(), encoding="utf-8")
    if args.strict and report.violation_count and code == 0:
        print(
            f"fakevoipbin run --strict: the client broke the spec "
            f"({report.violation_count} request(s))"
        )
        return 1
    return code
