"""Benchmarks: each module has run() -> dict; `make bench` runs them all."""
