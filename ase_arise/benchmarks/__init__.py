"""Benchmark scripts: ``python -m ase_arise.benchmarks.<name>``; figures go to docs/BENCHMARKS.md."""
