"""``serve --state-file``: the state survives a restart.

Each change is saved by a background writer, at most every ``interval`` seconds,
atomically: a temp file beside the target, fsync, rename, fsync of the folder. A
process killed at any moment leaves the previous or the next complete file, never a
torn one. A damaged or foreign file stops the start with a message; it is never
replaced by an empty state.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from .core import admin
from .core.state import State

TEMP_SUFFIX = ".fakevoipbin-tmp"


class StateFileError(ValueError):
    """A state file that cannot be used, with the reason."""


def load_state_file(state: State, path: Path) -> bool:
    """Load ``path`` into ``state`` if it exists (True), or leave the state as it is
    (False, a first start). Anything unreadable raises StateFileError."""
    for stale in path.parent.glob(path.name + ".*" + TEMP_SUFFIX):
        stale.unlink(missing_ok=True)  # a write that a kill cut short
    if not path.exists():
        return False
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StateFileError(f"cannot read the state file {path}: {exc}") from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise StateFileError(
            f"{path} is damaged (not JSON: {exc}); fakevoipbin will not start empty over it. "
            "Move it away to start from the fixtures."
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != admin.DUMP_FORMAT:
        raise StateFileError(
            f"{path} is not a fakevoipbin state file; fakevoipbin will not overwrite it."
        )
    try:
        admin.load(state, doc)
    except admin.StateError as exc:
        raise StateFileError(f"{path} is damaged: {exc}") from None
    return True


def write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}{TEMP_SUFFIX}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class StateWriter:
    """Saves the state whenever it has changed, from a background thread."""

    def __init__(self, state: State, path: Path, interval: float = 0.05) -> None:
        self.state = state
        self.path = path
        self.interval = interval
        self._saved: tuple[int, int, int] = (-1, -1, -1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fakevoipbin-state", daemon=True)
        self.writes = 0

    def start(self) -> StateWriter:
        self.save()
        self._thread.start()
        return self

    def save(self) -> None:
        """Save if the store or the clock changed since the last save (a clock set,
        advanced or frozen with no write is saved too)."""
        with self.state.lock:
            clock = self.state.clock
            changes = (self.state.changes, id(clock), clock.moves)
            if changes == self._saved:
                return
            doc: dict[str, Any] = admin.dump(self.state)
        data = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        write_atomically(self.path, data)
        self._saved = changes
        self.writes += 1

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.save()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.save()
