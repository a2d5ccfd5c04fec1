"""Run every benchmark module in one go (``python -m benchmarks [--quick]``)."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks


def main() -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))
    for name in names:
        print(f"\n######## {name} ########", flush=True)
        mod = importlib.import_module(f"benchmarks.{name}")
        mod.main(sys.argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
