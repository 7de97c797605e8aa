"""runner's benchmarks: `python -m perf.bench [--quick]` (see perf/bench.py)."""
