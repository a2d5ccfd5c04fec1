"""Benchmarks: run all with ``python -m benchmarks``, or one with ``python -m benchmarks.bench_primitives``.

Speed is measured here, side by side with peers in one run, and never asserted in tests.
"""
