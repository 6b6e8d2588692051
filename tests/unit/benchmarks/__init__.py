"""Smoke tests of the load benchmark (benchmarks/)."""
