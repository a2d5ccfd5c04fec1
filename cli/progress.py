"""A progress bar on a terminal, nothing when output is piped.

``Progress`` wraps a binary stream and counts the bytes read through it, so
the library needs no progress hooks of its own.
"""

from __future__ import annotations

import sys
import time
from typing import BinaryIO

_MIN_SIZE = 8 * 1024 * 1024  # below this, a bar would only flicker


class Progress:
    def __init__(self, label: str, total: int, *, stream=None, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        isatty = getattr(self.stream, "isatty", lambda: False)()
        self.enabled = (isatty and total >= _MIN_SIZE) if enabled is None else enabled
        self.label = label
        self.total = max(total, 1)
        self.done = 0
        self._last = 0.0

    def advance(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and (now - self._last > 0.1 or self.done >= self.total):
            self._last = now
            frac = min(self.done / self.total, 1.0)
            bar = "#" * int(frac * 30)
            self.stream.write(f"\r{self.label} [{bar:<30}] {frac * 100:5.1f}%  {self.done / 1e6:,.0f} MB")
            self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


class CountingReader:
    """A read-only binary stream that reports progress as it is read."""

    def __init__(self, raw: BinaryIO, progress: Progress) -> None:
        self._raw = raw
        self._progress = progress

    def read(self, n: int = -1) -> bytes:
        b = self._raw.read(n)
        self._progress.advance(len(b))
        return b

    def readinto(self, buf) -> int:
        n = self._raw.readinto(buf)
        self._progress.advance(n or 0)
        return n

    def readable(self) -> bool:
        return True

    def __getattr__(self, name: str):
        return getattr(self._raw, name)
