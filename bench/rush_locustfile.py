"""The rush's simulated people, for Locust (run by ``bench/rush.py`` in its own process).

Never imported by the bench runner: Locust patches the standard library for gevent on import.
Reads the plan that ``bench/rush.py`` writes (``RUSH_PLAN``: accounts, password, the PDF, think
time, where to write the results) and, when Locust quits, writes every request it made
(start, time taken, name, success), the failures and the outcomes whose upload it saw
succeed, for ``bench/rush.py`` to check against the database and the storage.

Students sign in, open home and their portfolio, then in turn: the portfolio page, the upload
form, a 1 MB PDF course outcome posted (multipart, CSRF), the portfolio page it redirects to
(its message and the outcome's file links), the file's preview and its download, home again.
Teachers sign in and certify, from the top of their queue, one outcome after another, as the
queue's Certify button posts it. Every person comes from an address of their own
(X-Forwarded-For, as the TLS proxy in front sets it; the server trusts one proxy, as
docker-compose.yml's web service does) and thinks between actions.
"""

import itertools
import json
import os
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from locust import FastHttpUser, SequentialTaskSet, between, events, task
from locust.exception import RescheduleTaskImmediately

from bench.certification import certify_actions
from bench.client import hidden_inputs
from bench.uploads import Upload, multipart

PLAN = json.loads(Path(os.environ["RUSH_PLAN"]).read_text())
PDF = Path(PLAN["pdf"]).read_bytes()
THINK = between(*PLAN["think_seconds"])
LOGIN = "/accounts/login/"
ADD = "/portfolio/outcomes/add/"
PORTFOLIO = "/portfolio/"
QUEUE = "/certification/"
SUCCESS = 'class="message success"'  # the message after an upload or a decision
ROLE = 'class="role"'  # in the header of every signed-in page
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
OUTCOME_LOCATION = re.compile(r"^/portfolio/#outcome-(\d+)$")
ENROLMENT_OPTION = re.compile(r'<option value="(\d+)"')
DOWNLOAD_LINK = re.compile(r'href="/files/(\d+)/download/"')
CERTIFY_ACTION = re.compile(r"^/certification/(\d+)/")

_students = iter(PLAN["students"])
_teachers = iter(PLAN["teachers"])
_addresses = itertools.count(1)

# What the run saw, written out when Locust quits.
requests: list[tuple[float, float, str, bool]] = []  # start (epoch s), ms, name, success
failures: list[str] = []  # the failed requests' reasons
uploaded: list[int] = []  # outcomes whose upload answered the redirect to the portfolio
certified: list[int] = []  # outcomes whose Certify came back to the queue with its message
started_users: list[str] = []
signed_in: list[str] = []
upload_attempts: list[str] = []  # one entry per upload sent, whether answered or not

Check = Callable[[str], str | None]  # a page's text -> what is wrong with it, or None


@events.request.add_listener
def _record(
    request_type: str,
    name: str,
    response_time: float,
    start_time: float | None = None,
    exception: BaseException | None = None,
    **_kwargs: Any,
) -> None:
    started = start_time if start_time is not None else time.time() - response_time / 1000
    requests.append((started, response_time, f"{request_type} {name}", exception is None))
    if exception is not None:
        failures.append(f"{request_type} {name}: {exception}")


@events.quitting.add_listener
def _write(**_kwargs: Any) -> None:
    results = {
        "requests": requests,
        "failures": failures,
        "uploaded": uploaded,
        "certified": certified,
        "started_users": started_users,
        "signed_in": signed_in,
        "upload_attempts": len(upload_attempts),
    }
    Path(PLAN["results"]).write_text(json.dumps(results))


def _address() -> str:
    """A private address of its own for each simulated person (10.x.y.z)."""
    n = next(_addresses)
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def containing(text: str) -> Check:
    return lambda page: None if text in page else f"no {text!r} in the page"


class Person(FastHttpUser):
    """Every request carries the person's address; a failed request is recorded as such."""

    abstract = True
    network_timeout = 600.0  # a slow answer is measured, not cut off (the server would go on)
    connection_timeout = 600.0
    username = ""
    address = ""
    login_token = ""
    signed_in = False
    stuck = False  # could not sign in: idles to the end

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"X-Forwarded-For": self.address, "Accept": "text/html", **(extra or {})}

    def page(self, path: str, name: str, check: Check) -> str | None:
        """GET a page that must answer 200 and pass ``check``: its text, or None (failed)."""
        with self.client.get(
            path, name=name, headers=self.headers(), allow_redirects=False, catch_response=True
        ) as response:
            text = response.text or ""
            problem = check(text) if response.status_code == 200 else "not 200"
            if problem:
                response.failure(f"{response.status_code} as {self.username}: {problem}")
                return None
            return text

    def post(
        self, path: str, name: str, body: bytes, headers: dict[str, str], check: Check
    ) -> str | None:
        """POST that must answer a redirect whose Location passes ``check``: the Location."""
        with self.client.post(
            path,
            name=name,
            data=body,
            headers=self.headers({**headers, "Referer": f"{self.host}{path}"}),
            allow_redirects=False,
            catch_response=True,
        ) as response:
            location = (response.headers or {}).get("Location", "")
            problem = check(location) if response.status_code == 302 else "not a redirect"
            if problem:
                snippet = " ".join((response.text or "")[:300].split())
                response.failure(
                    f"{response.status_code} {location!r} as {self.username}: {problem} {snippet}"
                )
                return None
            return location


class Visit(SequentialTaskSet):
    """Signing in (the page, then, after typing, the form and the home page it leads to) as
    the first steps; once signed in they are skipped, without a pause."""

    wait_time = THINK
    user: Person

    @task
    def sign_in_page(self) -> None:
        user = self.user
        if user.signed_in or user.stuck:
            raise RescheduleTaskImmediately()
        page = user.page(LOGIN, "/accounts/login/", containing("csrfmiddlewaretoken"))
        user.login_token = hidden_inputs(page or "").get("csrfmiddlewaretoken", "")
        user.stuck = not user.login_token

    @task
    def sign_in(self) -> None:
        user = self.user
        if user.signed_in or user.stuck:
            raise RescheduleTaskImmediately()
        form = {
            "login": user.username,
            "password": PLAN["password"],
            "csrfmiddlewaretoken": user.login_token,
        }

        def session(location: str) -> str | None:
            if not any(cookie.name == "sessionid" for cookie in user.client.cookiejar):
                return "no session cookie"
            return None

        body = urlencode(form).encode()
        location = user.post(LOGIN, "/accounts/login/", body, FORM_HEADERS, session)
        # The browser follows the redirect, to the home page.
        if location is None or user.page(location, "/ (signed in)", containing(ROLE)) is None:
            user.stuck = True
            return
        user.signed_in = True
        signed_in.append(user.username)


class StudentVisit(Visit):
    """Then portfolio, upload form, upload (and the portfolio it leads to), preview,
    download, home; again and again."""

    user: "Student"

    @task
    def portfolio(self) -> None:
        if not self.user.stuck:
            self.user.page(PORTFOLIO, "/portfolio/", containing('id="windows-title"'))

    @task
    def upload_form(self) -> None:
        user = self.user
        user.form = None
        if user.stuck:
            return

        def offers_a_course(page: str) -> str | None:
            if not hidden_inputs(page).get("csrfmiddlewaretoken"):
                return "no upload form (window closed?)"
            return None if ENROLMENT_OPTION.search(page) else "no course offered"

        page = user.page(ADD, "/portfolio/outcomes/add/", offers_a_course)
        if page is not None:
            token = hidden_inputs(page)["csrfmiddlewaretoken"]
            user.form = (token, random.choice(ENROLMENT_OPTION.findall(page)))

    @task
    def upload(self) -> None:
        user = self.user
        user.file = None
        if user.form is None:
            return
        token, enrolment = user.form
        user.uploads += 1
        fields = {
            "csrfmiddlewaretoken": token,
            "enrolment": enrolment,
            "title": f"衝刺上傳 {user.username} #{user.uploads}",
            "description": "截止前上傳的課程學習成果。",
            "action": "submit",
        }
        body, content_type = multipart(
            fields, Upload("document", "學習成果.pdf", "application/pdf", PDF)
        )

        def to_the_outcome(location: str) -> str | None:
            return None if OUTCOME_LOCATION.match(location) else "the upload was refused"

        upload_attempts.append(user.username)
        location = user.post(
            ADD, "/portfolio/outcomes/add/", body, {"Content-Type": content_type}, to_the_outcome
        )
        found = OUTCOME_LOCATION.match(location or "")
        if found is None:
            return
        outcome = int(found.group(1))
        uploaded.append(outcome)

        # The browser follows the redirect: the portfolio, its message, the new item's files.
        def shows_the_file(page: str) -> str | None:
            if SUCCESS not in page:
                return "no success message"
            item = page.find(f'id="outcome-{outcome}"')
            if item < 0 or not DOWNLOAD_LINK.search(page, item):
                return f"no file link of outcome {outcome}"
            return None

        page = user.page(PORTFOLIO, "/portfolio/ (uploaded)", shows_the_file)
        if page is not None:
            link = DOWNLOAD_LINK.search(page, page.find(f'id="outcome-{outcome}"'))
            assert link is not None
            user.file = int(link.group(1))

    def _file(self, path: str, name: str) -> None:
        user = self.user
        with self.client.get(
            path, name=name, headers=user.headers(), allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200 or len(response.content or b"") != len(PDF):
                response.failure(
                    f"{response.status_code} as {user.username}: not the {len(PDF)} bytes uploaded"
                )

    @task
    def preview(self) -> None:
        if self.user.file is not None:
            self._file(f"/files/{self.user.file}/view/", "/files/[pk]/view/")

    @task
    def download(self) -> None:
        if self.user.file is not None:
            self._file(f"/files/{self.user.file}/download/", "/files/[pk]/download/")

    @task
    def home(self) -> None:
        if not self.user.stuck:
            self.user.page("/", "/", containing(ROLE))


class Student(Person):
    tasks = [StudentVisit]
    form: tuple[str, str] | None = None
    file: int | None = None
    uploads = 0

    def on_start(self) -> None:
        self.username = next(_students)
        self.address = _address()
        started_users.append(self.username)


class TeacherVisit(Visit):
    """Then the queue; the first outcome's Certify, which lands on the queue again; and so
    on, looking at the queue again when it is empty."""

    user: "Teacher"

    @task
    def certify(self) -> None:
        user = self.user
        if user.stuck:
            return
        actions = certify_actions(user.queue)
        if not actions:  # the queue not seen yet, or nothing awaiting
            user.queue = user.page(QUEUE, "/certification/", containing(ROLE)) or ""
            return
        inputs = hidden_inputs(user.queue)
        found = CERTIFY_ACTION.match(actions[0])
        pk = int(found.group(1)) if found else 0
        form = {
            "csrfmiddlewaretoken": inputs.get("csrfmiddlewaretoken", ""),
            "action": "certify",
            f"o{pk}-seen_at": inputs.get(f"o{pk}-seen_at", ""),
        }

        def back_to_the_queue(location: str) -> str | None:
            return None if location.startswith(QUEUE) else "not back to the queue"

        body = urlencode(form).encode()
        location = user.post(
            actions[0], "/certification/[pk]/", body, FORM_HEADERS, back_to_the_queue
        )
        user.queue = ""
        if location is None:
            return
        # The browser follows the redirect: the queue with the message, the next outcomes.
        page = user.page(location, "/certification/ (certified)", containing(SUCCESS))
        if page is not None:
            certified.append(pk)
            user.queue = page


class Teacher(Person):
    fixed_count = PLAN["teacher_count"]
    tasks = [TeacherVisit]
    queue = ""

    def on_start(self) -> None:
        self.username = next(_teachers)
        self.address = _address()
        started_users.append(self.username)
