"""Benchmarks of the platform served as in production; `make bench` runs bench/run.py."""
