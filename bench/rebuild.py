"""Benchmark 3 (placeholder while being written)."""
from bench.common import BenchStore, Result


def run(bench: BenchStore, scale: float) -> list[Result]:
    raise NotImplementedError
