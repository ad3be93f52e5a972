"""Benchmark harnesses: each prints a table, writes JSON (and a PNG plot where it helps)."""
