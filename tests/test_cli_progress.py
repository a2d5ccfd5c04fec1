"""The progress bar: drawn on a terminal for large inputs, silent when piped."""

from __future__ import annotations

import io

from smseal.cli.progress import CountingReader, Progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_on_terminal_for_large_input():
    err = _Tty()
    p = Progress("Sealing", 64 << 20, stream=err)
    reader = CountingReader(io.BytesIO(b"x" * (64 << 20)), p)
    while reader.read(1 << 20):
        pass
    p.finish()
    assert "Sealing [" in err.getvalue() and "100.0%" in err.getvalue()


def test_silent_when_piped_or_small():
    piped = io.StringIO()
    p = Progress("Sealing", 64 << 20, stream=piped)
    CountingReader(io.BytesIO(b"x" * 100), p).read()
    p.finish()
    assert piped.getvalue() == ""
    small = _Tty()
    p = Progress("Sealing", 100, stream=small)
    CountingReader(io.BytesIO(b"x" * 100), p).read()
    p.finish()
    assert small.getvalue() == ""
