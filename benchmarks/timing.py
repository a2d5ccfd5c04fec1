"""Small helpers shared by the benchmarks: rate measurement and a ratio table."""

from __future__ import annotations

import time
from typing import Callable


def rate(fn: Callable[[], object], seconds: float = 1.5, batch: int = 1) -> float:
    """Calls of ``fn`` per second (× ``batch`` units per call), after a short warm-up."""
    fn()
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        fn()
        n += 1
        now = time.perf_counter()
        if now >= deadline:
            return n * batch / (now - start)


def table(title: str, unit: str, rows: list[tuple[str, float | None]], baseline: str) -> None:
    """Print rows next to each other with their ratio to ``baseline``."""
    base = dict(rows).get(baseline)
    print(f"\n{title} ({unit}; ratio to {baseline})")
    for name, value in rows:
        if value is None:
            print(f"  {name:<34} {'n/a':>12}")
            continue
        ratio = f"{value / base:7.2f}x" if base else ""
        print(f"  {name:<34} {value:12,.1f}  {ratio}")
