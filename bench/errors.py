"""What every part of the harness shares: the failure type and progress output."""

import sys


class BenchError(RuntimeError):
    """A failure that ends the benchmark run: the message says what went wrong."""


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only the figures."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)
