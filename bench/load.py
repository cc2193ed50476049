"""Bounded concurrent load on one URL: wrk when installed, else a Python client.

Both keep ``connections`` requests in flight for ``seconds`` and report requests per
second and the 99th percentile latency. Every run stops by itself.
"""

import http.client
import math
import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from bench.errors import BenchError, log

CONNECTIONS = 16
THREADS = 2
MAX_REQUESTS = 5_000_000  # the Python client's bound on count, besides time
_TIME_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_SIZE_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


@dataclass(frozen=True)
class LoadResult:
    client: str
    requests: int
    seconds: float
    rps: float
    p99_ms: float
    bytes_read: float
    bad_status: int  # wrk: 4xx/5xx; Python client: anything but 2xx
    socket_errors: int  # connect, read, write errors and timeouts

    def summary(self) -> str:
        return (
            f"{self.client}: {self.requests} requests in {self.seconds:.1f} s, "
            f"{self.rps:.0f} req/s, p99 {self.p99_ms:.1f} ms, "
            f"{self.bad_status} bad status, {self.socket_errors} socket errors"
        )

    def check(self, url: str, expect_bytes: int | None = None) -> None:
        """BenchError unless every response was a success of the expected size.

        wrk counts 3xx as success, so a redirect (to the sign-in page, say) is caught by the
        bytes per response instead, compared with a response checked beforehand.
        """
        if self.requests == 0:
            raise BenchError(f"{url}: no request completed")
        if self.bad_status:
            raise BenchError(f"{url}: {self.bad_status} of {self.requests} responses were not 2xx")
        if self.socket_errors:
            raise BenchError(f"{url}: {self.socket_errors} socket errors or timeouts")
        if expect_bytes:
            per_response = self.bytes_read / self.requests
            if not 0.8 * expect_bytes <= per_response <= 1.25 * expect_bytes:
                raise BenchError(
                    f"{url}: responses averaged {per_response:.0f} bytes, expected about "
                    f"{expect_bytes}: some were not the page checked (redirects or errors?)"
                )


def wrk_path() -> str | None:
    """wrk unless ``BENCH_CLIENT=python`` asks for the fallback client."""
    if os.environ.get("BENCH_CLIENT", "").strip().lower() == "python":
        return None
    return shutil.which("wrk")


def run_load(
    url: str,
    *,
    seconds: float,
    cookie: str | None = None,
    connections: int = CONNECTIONS,
) -> LoadResult:
    wrk = wrk_path()
    if wrk:
        return run_wrk(wrk, url, seconds=seconds, cookie=cookie, connections=connections)
    return run_python(url, seconds=seconds, cookie=cookie, connections=connections)


def _loopback_only(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in {"127.0.0.1", "localhost", "::1"}:
        raise BenchError(f"load is for loopback only, not {host!r}")


# wrk -----------------------------------------------------------------------------------


def run_wrk(
    wrk: str, url: str, *, seconds: float, cookie: str | None, connections: int
) -> LoadResult:
    _loopback_only(url)
    duration = max(1, math.ceil(seconds))
    command = [
        wrk,
        "--latency",
        "--connections", str(connections),
        "--threads", str(min(THREADS, connections)),
        "--duration", f"{duration}s",
        "--timeout", "10s",
    ]  # fmt: skip
    if cookie:
        command += ["--header", f"Cookie: {cookie}"]
    command.append(url)
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=duration + 30, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"wrk did not stop after {duration + 30} s") from exc
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout}")
    return parse_wrk(done.stdout)


def _time_ms(value: str, unit: str) -> float:
    return float(value) * _TIME_UNITS[unit]


def parse_wrk(output: str) -> LoadResult:
    """The figures of ``wrk --latency`` output; BenchError when a figure is missing."""

    def find(pattern: str) -> re.Match[str]:
        match = re.search(pattern, output, re.MULTILINE)
        if match is None:
            raise BenchError(f"wrk output without {pattern!r}:\n{output}")
        return match

    totals = find(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)(B|KB|MB|GB|TB) read\s*$")
    p99 = find(r"^\s*99(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$")
    rps = find(r"^Requests/sec:\s+([\d.]+)\s*$")
    bad = re.search(r"^\s*Non-2xx or 3xx responses:\s+(\d+)\s*$", output, re.MULTILINE)
    errors = re.search(
        r"^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)\s*$",
        output,
        re.MULTILINE,
    )
    return LoadResult(
        client="wrk",
        requests=int(totals[1]),
        seconds=_time_ms(totals[2], totals[3]) / 1e3,
        rps=float(rps[1]),
        p99_ms=_time_ms(p99[1], p99[2]),
        bytes_read=float(totals[4]) * _SIZE_UNITS[totals[5]],
        bad_status=int(bad[1]) if bad else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


# Python fallback ---------------------------------------------------------------------


@dataclass
class _Tally:
    latencies_ms: list[float]
    bytes_read: int = 0
    bad_status: int = 0
    socket_errors: int = 0


def _percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile, as wrk reports it."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def run_python(url: str, *, seconds: float, cookie: str | None, connections: int) -> LoadResult:
    """``connections`` threads, each with one request in flight, until the time is up."""
    _loopback_only(url)
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {"Cookie": cookie} if cookie else {}
    tallies = [_Tally(latencies_ms=[]) for _ in range(connections)]
    budget = MAX_REQUESTS // connections
    started = time.perf_counter()
    deadline = started + seconds

    def worker(tally: _Tally) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        try:
            while time.perf_counter() < deadline and len(tally.latencies_ms) < budget:
                sent = time.perf_counter()
                try:
                    conn.request("GET", path, headers=headers)
                    response = conn.getresponse()
                    body = response.read()
                except (OSError, http.client.HTTPException):
                    tally.socket_errors += 1
                    conn.close()  # the next request connects again
                    continue
                tally.latencies_ms.append((time.perf_counter() - sent) * 1e3)
                tally.bytes_read += len(body) + sum(
                    len(k) + len(v) + 4 for k, v in response.getheaders()
                )
                tally.bytes_read += len(f"HTTP/1.1 {response.status} XXXXXXXX\r\n") + 2
                if not 200 <= response.status < 300:
                    tally.bad_status += 1
                if response.will_close:
                    conn.close()
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(t,), daemon=True) for t in tallies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 30)
    if any(thread.is_alive() for thread in threads):
        raise BenchError("the Python load client did not stop in time")
    elapsed = time.perf_counter() - started
    latencies = sorted(ms for tally in tallies for ms in tally.latencies_ms)
    return LoadResult(
        client="python",
        requests=len(latencies),
        seconds=elapsed,
        rps=len(latencies) / elapsed,
        p99_ms=_percentile(latencies, 0.99),
        bytes_read=sum(t.bytes_read for t in tallies),
        bad_status=sum(t.bad_status for t in tallies),
        socket_errors=sum(t.socket_errors for t in tallies),
    )


def measure(
    url: str,
    *,
    seconds: float,
    warmup_seconds: float,
    cookie: str | None = None,
    expect_bytes: int | None = None,
) -> LoadResult:
    """Warm up, then measure; BenchError unless every response was a good one."""
    if warmup_seconds > 0:
        warm = run_load(url, seconds=warmup_seconds, cookie=cookie)
        warm.check(url, expect_bytes)
        log(f"  warm-up {warm.summary()}")
    result = run_load(url, seconds=seconds, cookie=cookie)
    log(f"  {result.summary()}")
    result.check(url, expect_bytes)
    return result
