"""Course-outcome uploads through the real view stack: throughput and the workers' memory.

Eight demo students (s001 to s008) are each given a registry extension of the outcome-upload
window (the real `WindowExtension`, so the windows of the demo schedule need not be open
today) and a per-term cap large enough for the run. Each of 8 client threads then signs in
as one of them, reads the upload form (its CSRF token, the course to pick) and posts
multipart uploads in a loop on its own connection, as a browser without JavaScript would.
An upload counts only when the server answers with the redirect to the portfolio page: a
refusal (the form again, with errors) fails the run.

- ``upload_2mb_per_s``: 2 MB PDFs accepted per second, all clients together.
- ``upload_raw_2mb_per_s``: the same clients post the same bodies to ``/bench/upload-raw/``,
  a bench-only view that saves the file to storage as it came (no check, hash or row): the
  ceiling of an upload through this stack. ``upload_ratio`` is the first over this one.
- ``upload_peak_mb``: the largest peak resident memory (VmHWM) of a gunicorn worker while
  the clients upload 10 MB MP4 files; ``upload_peak_2mb_mb`` the same during the 2 MB run.
  Each worker's peak is reset (``/proc/<pid>/clear_refs``) before each run, so the two
  figures compare: flat memory means the 10 MB figure is about the 2 MB one.
"""

import http.client
import io
import os
import struct
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.client import Browser, hidden_inputs
from bench.errors import BenchError, log

CLIENTS = 8
STUDENTS = [f"s{n:03d}" for n in range(1, CLIENTS + 1)]
UPLOAD_PATH = "/portfolio/outcomes/add/"
RAW_PATH = "/bench/upload-raw/"
PORTFOLIO_PATH = "/portfolio/"
MB = 1024 * 1024

SETUP = """
import datetime as dt
from django.utils import timezone
from accounts.models import User
from portfolio import calendar
from portfolio.models import School, SchoolPolicy, Term
from records.models import CourseEnrolment, Student
from submissions.models import ExtensionKind, WindowExtension

school = School.objects.get(code="999001")
registry = User.objects.get(username="registry")
now = timezone.now()
for username in USERNAMES:
    student = Student.objects.select_related("school_class").get(user__username=username)
    enrolment = (
        CourseEnrolment.objects.filter(student=student, course__credits__gt=0)
        .select_related("course__term__school_year")
        .order_by("-course__term__starts_on", "pk")
        .first()
    )
    term = enrolment.course.term
    policy, _ = SchoolPolicy.objects.get_or_create(school=school, school_year=term.school_year)
    # Only for the bench: far above the national range, so the run measures uploads, not caps.
    SchoolPolicy.objects.filter(pk=policy.pk).update(outcome_upload_cap_per_term=30000)  # smallint
    # update() sends no signal: tell the server's processes, which keep the school's calendar
    # (its policies with it), as the services do.
    calendar.bump(school.pk)
    WindowExtension.objects.get_or_create(
        school=school, student=student, term=term, kind=ExtensionKind.OUTCOME_UPLOAD,
        defaults=dict(starts_at=now - dt.timedelta(minutes=1), ends_at=now + dt.timedelta(hours=6),
                      reason="benchmark", granted_by=registry),
    )
    print("ENROLMENT", username, enrolment.pk)
"""


# --- files the checks accept, made here ------------------------------------------------------


def make_pdf(size: int) -> bytes:
    """A one-page PDF of about ``size`` bytes: the page's content stream carries the bulk."""
    content = b"%" + os.urandom(size // 2).hex().encode()[: max(0, size - 600)] + b"\n"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def make_mp4(size: int) -> bytes:
    """An MP4 (ftyp, moov/mvhd of 5 s, mdat) of about ``size`` bytes that mutagen parses."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41")
    mvhd = _box(
        b"mvhd",
        struct.pack(">B3xIIII", 0, 0, 0, 1000, 5000)
        + struct.pack(">IH10x", 0x00010000, 0x0100)
        + struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
        + bytes(24)
        + struct.pack(">I", 2),
    )
    head = ftyp + _box(b"moov", mvhd)
    return head + _box(b"mdat", os.urandom(max(0, size - len(head) - 8)))


# --- multipart uploads -----------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    field: str  # "document" or "media"
    name: str
    content_type: str
    data: bytes


def multipart(fields: dict[str, str], upload: Upload) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{upload.field}"; '
            f'filename="{upload.name}"\r\nContent-Type: {upload.content_type}\r\n\r\n'
        ).encode()
        + upload.data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@dataclass
class Client:
    """One signed-in student posting uploads on its own keep-alive connection."""

    browser: Browser
    enrolment: str
    accepted: int = 0
    failure: str | None = None
    _token: str = ""

    def prepare(self) -> None:
        page = self.browser.get(UPLOAD_PATH, follow=False)
        if page.status != 200:
            raise BenchError(f"GET {UPLOAD_PATH} answered {page.status}, not the upload form")
        self._token = hidden_inputs(page.text).get("csrfmiddlewaretoken", "")
        if not self._token or f'value="{self.enrolment}"' not in page.text:
            raise BenchError(
                f"{UPLOAD_PATH} shows no upload form for enrolment {self.enrolment} "
                f"(window or extension not in force?):\n{page.text[:1500]}"
            )

    def run(self, upload: Upload, until: float, raw: bool = False) -> None:
        """Post ``upload`` until ``until``: to the upload form, or with ``raw`` to the bare
        view that only stores the file (the same body, the same connection handling)."""
        path = RAW_PATH if raw else UPLOAD_PATH
        fields = {
            "csrfmiddlewaretoken": self._token,
            "enrolment": self.enrolment,
            "title": "Benchmark upload",
            "description": "A file sent by the upload benchmark.",
        }
        body, content_type = multipart(fields, upload)
        headers = {
            "Content-Type": content_type,
            "Cookie": self.browser.cookie_header(),
            "Referer": f"{self.browser.base_url}{UPLOAD_PATH}",
            "Accept": "text/html",
        }
        conn = http.client.HTTPConnection(self.browser.host, self.browser.port, timeout=120)
        try:
            while time.monotonic() < until:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                text = response.read()
                location = response.getheader("Location") or ""
                if raw:
                    stored = response.status == 201
                else:
                    stored = response.status == 302 and location.startswith(PORTFOLIO_PATH)
                if not stored:
                    self.failure = (
                        f"POST {path} answered {response.status} {location!r}:\n"
                        f"{text[:1500].decode(errors='replace')}"
                    )
                    return
                self.accepted += 1
        except (OSError, http.client.HTTPException) as exc:
            self.failure = f"POST {path}: {exc.__class__.__name__}: {exc}"
        finally:
            conn.close()


@dataclass
class Workers:
    """The gunicorn workers (children of the master): reset and read their peak memory."""

    master_pid: int
    pids: list[int] = field(default_factory=list)

    def find(self) -> None:
        children = Path(f"/proc/{self.master_pid}/task/{self.master_pid}/children")
        try:
            self.pids = [int(pid) for pid in children.read_text().split()]
        except OSError as exc:
            raise BenchError(f"cannot list gunicorn's workers: {exc}") from exc
        if not self.pids:
            raise BenchError("gunicorn has no workers")

    def reset_peaks(self) -> None:
        for pid in self.pids:
            try:
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            except OSError as exc:
                raise BenchError(f"cannot reset the peak memory of worker {pid}: {exc}") from exc

    def peak_mb(self) -> float:
        peaks = []
        for pid in self.pids:
            status = Path(f"/proc/{pid}/status").read_text()
            line = next(row for row in status.splitlines() if row.startswith("VmHWM:"))
            peaks.append(int(line.split()[1]) / 1024)
        return max(peaks)


def _load(
    clients: list[Client], upload: Upload, seconds: float, raw: bool = False
) -> tuple[int, float]:
    for client in clients:
        client.accepted = 0
    started = time.monotonic()
    until = started + seconds
    threads = [threading.Thread(target=c.run, args=(upload, until, raw)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    failed = next((c.failure for c in clients if c.failure), None)
    if failed:
        raise BenchError(failed)
    return sum(c.accepted for c in clients), elapsed


def uploads(
    *,
    master_pid: int,
    manage: Callable[..., str],
    browser_for: Callable[[str], Browser],
    seconds: float,
) -> list[tuple[str, float, str, int]]:
    output = manage("shell", "-c", f"USERNAMES = {STUDENTS!r}\n{SETUP}")
    enrolments = dict(
        row.split()[1:3] for row in output.splitlines() if row.startswith("ENROLMENT ")
    )
    if sorted(enrolments) != STUDENTS:
        raise BenchError(f"the upload set-up printed no enrolment for some students:\n{output}")
    clients = [Client(browser_for(name), enrolments[name]) for name in STUDENTS]
    for client in clients:
        client.prepare()
    workers = Workers(master_pid)
    workers.find()

    small = Upload("document", "report.pdf", "application/pdf", make_pdf(2 * MB))
    workers.reset_peaks()
    log(f"uploading 2 MB PDFs with {CLIENTS} clients for {seconds:g} s")
    accepted, elapsed = _load(clients, small, seconds)
    peak_small = workers.peak_mb()
    if accepted == 0:
        raise BenchError("no 2 MB upload was accepted")

    log(f"posting the same 2 MB PDFs to {RAW_PATH} with {CLIENTS} clients for {seconds:g} s")
    raw_stored, raw_elapsed = _load(clients, small, seconds, raw=True)
    if raw_stored == 0:
        raise BenchError(f"no 2 MB upload was stored by {RAW_PATH}")
    per_s, raw_per_s = accepted / elapsed, raw_stored / raw_elapsed

    large = Upload("media", "video.mp4", "video/mp4", make_mp4(10 * MB - 64 * 1024))
    workers.reset_peaks()
    log(f"uploading 10 MB MP4 files with {CLIENTS} clients for {seconds:g} s")
    large_accepted, _ = _load(clients, large, seconds)
    if large_accepted == 0:
        raise BenchError("no 10 MB upload was accepted")
    peak_large = workers.peak_mb()
    log(f"{accepted} x 2 MB in {elapsed:.1f} s; {raw_stored} x 2 MB stored raw in "
        f"{raw_elapsed:.1f} s; {large_accepted} x 10 MB")  # fmt: skip
    return [
        ("upload_2mb_per_s", per_s, "uploads/s", 1),
        ("upload_raw_2mb_per_s", raw_per_s, "uploads/s", 1),
        ("upload_ratio", per_s / raw_per_s, "ratio", 2),
        ("upload_peak_2mb_mb", peak_small, "MB", 0),
        ("upload_peak_mb", peak_large, "MB", 0),
    ]
