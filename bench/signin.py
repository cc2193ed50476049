"""Sign-ins per second through the real allauth form, several clients at once.

Each of ``CLIENTS`` threads signs in again and again as a person opening the site would, each
time a new visitor (no cookies): GET ``/accounts/login/`` for the CSRF cookie and hidden token,
POST ``login``/``password`` with a Referer, then follow the redirect to the home page, which
must be a student's (200). Each sign-in takes the next of the demo's 90 students (s001 to s090,
in turn), so that no two clients sign in as the same student at once. The server keeps the
production password hasher (PBKDF2, about 0.2 s of CPU a check here): that is most of the
cost. ``signin_per_s`` is the sign-ins completed over the run's wall time, all clients
together, after a warm-up; a sign-in that fails ends the run.

The sign-in limit per address (``LOGIN_ATTEMPT_RATE_LIMIT``, 300 a minute; every client is
127.0.0.1) is well above what two workers hash here (about 9 a second); so that a faster
machine does not reach it, the run stops early after ``MAX_SIGN_INS`` (the warm-up after
``MAX_WARMUP_SIGN_INS``; the figure is the rate all the same), and a 429 ends the run saying
so.
"""

import itertools
import threading
import time
from dataclasses import dataclass

from bench.client import REDIRECTS, Browser, Response, hidden_inputs
from bench.errors import BenchError, log

CLIENTS = 8
STUDENTS = [f"s{n:03d}" for n in range(1, 91)]  # the demo's students (seed_demo)
LOGIN_PATH = "/accounts/login/"
DEMO_SCHOOL = "999001"
MAX_SIGN_INS = 200  # in the measured run, and 40 in the warm-up: the limit is 300 a minute
MAX_WARMUP_SIGN_INS = 40


@dataclass
class _Tally:
    done: int = 0
    failure: str | None = None


def sign_in_once(base_url: str, username: str, password: str) -> None:
    """One sign-in as a new visitor, ending on the home page; BenchError when it fails."""
    browser = Browser(base_url)
    page = browser.request("GET", LOGIN_PATH)
    token = hidden_inputs(page.text).get("csrfmiddlewaretoken")
    if page.status != 200 or not token or "csrftoken" not in browser.cookies:
        raise BenchError(f"GET {LOGIN_PATH} answered {page.status} without a CSRF token")
    answer = browser.request(
        "POST",
        LOGIN_PATH,
        form={"login": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base_url}{LOGIN_PATH}"},
    )
    if answer.status == 429:
        raise BenchError(f"signing in as {username}: 429, the sign-in limit per address")
    if answer.status not in REDIRECTS or "sessionid" not in browser.cookies:
        raise BenchError(
            f"signing in as {username}: POST {LOGIN_PATH} answered {answer.status}, not a "
            f"redirect with a session:\n{answer.text[:1500]}"
        )
    home = _follow(browser, answer)
    if home.status != 200 or DEMO_SCHOOL not in home.text or 'class="role"' not in home.text:
        raise BenchError(
            f"signing in as {username} ended on {home.url} ({home.status}), not the student's "
            f"home page:\n{home.text[:1500]}"
        )


def _follow(browser: Browser, response: Response, limit: int = 5) -> Response:
    for _ in range(limit):
        if response.status not in REDIRECTS:
            return response
        location = response.header("Location") or ""
        if not location.startswith("/"):
            raise BenchError(f"signing in redirected to {location!r}, off the server")
        response = browser.request("GET", location)
    raise BenchError(f"signing in: more than {limit} redirects")


def _run(base_url: str, password: str, seconds: float, limit: int) -> tuple[int, float]:
    """``CLIENTS`` threads signing in until ``seconds`` are up or ``limit`` sign-ins have
    started: sign-ins done, wall time."""
    numbers = itertools.count()
    lock = threading.Lock()
    tallies = [_Tally() for _ in range(CLIENTS)]
    started = time.monotonic()
    until = started + seconds

    def client(tally: _Tally) -> None:
        try:
            while time.monotonic() < until:
                with lock:
                    number = next(numbers)
                if number >= limit:
                    break
                username = STUDENTS[number % len(STUDENTS)]
                sign_in_once(base_url, username, password)
                tally.done += 1
        except BenchError as exc:
            tally.failure = str(exc)

    threads = [threading.Thread(target=client, args=(t,), daemon=True) for t in tallies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    if any(thread.is_alive() for thread in threads):
        raise BenchError("a sign-in client did not stop in time")
    elapsed = time.monotonic() - started
    failed = next((t.failure for t in tallies if t.failure), None)
    if failed:
        raise BenchError(failed)
    return sum(t.done for t in tallies), elapsed


def sign_ins(
    base_url: str, password: str, *, seconds: float, warmup_seconds: float
) -> list[tuple[str, float, str, int]]:
    if warmup_seconds > 0:
        done, elapsed = _run(base_url, password, warmup_seconds, MAX_WARMUP_SIGN_INS)
        log(f"  warm-up: {done} sign-ins in {elapsed:.1f} s")
    log(f"signing in with {CLIENTS} clients for {seconds:g} s")
    done, elapsed = _run(base_url, password, seconds, MAX_SIGN_INS)
    if done == 0:
        raise BenchError("no sign-in completed")
    log(f"  {done} sign-ins in {elapsed:.1f} s ({len(STUDENTS)} students in turn)")
    return [("signin_per_s", done / elapsed, "sign-ins/s", 1)]
