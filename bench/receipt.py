"""A receipt (收訖明細) of 3,000 students imported and reconciled, in its own process: wall
time and peak memory.

Set up untimed on what the ``package`` bench left (3,000 students with 6 selected outcomes
each, roster 26 built): a performance per student (roster 25), the term's grade roster (2:
15 courses each), the three built and marked submitted; then the receipt the central
database would give back, written from the three workbooks, with one line dropped for every
hundredth student and one altered for every hundred-and-first. The timed part is
``receipt_import`` itself (unzip and check, read the three workbooks back, reconcile, write
every line)."""

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from bench.errors import BenchError, log
from bench.imports import SCHOOL, STUDENTS, current_term, timed_manage

RECEIPT = str(Path(tempfile.gettempdir()) / "bench-receipt.zip")
PASSWORD = "bench-收訖"

SETUP = """
import datetime as dt
from collections import defaultdict
from django.utils import timezone
from portfolio.jobs import job_run
from portfolio.models import Job, SchoolYear
from submissions.central import receipt as fmt
from submissions.models import (
    PackageState, Performance, PerformanceSource, PerformanceState, RosterPackage, Selection,
)
from submissions.services.packages import PACKAGE_JOB
year = SchoolYear.objects.get(school__code=SCHOOL, roc_year=ROC_YEAR)
school, term = year.school, year.terms.get(number=1)
selections = list(Selection.objects.filter(school=school, school_year=year, locked_at__isnull=False))
works = Performance.objects.bulk_create(
    [Performance(
        school=school, student_id=s.student_id, school_year=year, category="work",
        source=PerformanceSource.STUDENT, state=PerformanceState.SAVED, name=f"作品{s.pk}",
        description="專題實作的成果。", starts_on=dt.date(ROC_YEAR + 1911, 11, 1),
    ) for s in selections],
    batch_size=2000,
)
link = Selection.performances.through
by_student = {w.student_id: w.pk for w in works}
link.objects.bulk_create(
    [link(selection_id=s.pk, performance_id=by_student[s.student_id]) for s in selections],
    batch_size=5000,
)

def built(roster, term_):
    package = RosterPackage.objects.create(
        school=school, school_year=year, roster=roster, division="day", spec_version="108",
        term=term_, term_number=term_.number if term_ else 0,
    )
    job = Job.objects.create(
        school=school, kind=PACKAGE_JOB, params={"package": package.pk, "language": "zh-hant"},
    )
    RosterPackage.objects.filter(pk=package.pk).update(job=job)
    job_run(job.pk)
    package.refresh_from_db()
    return package

packages = [
    RosterPackage.objects.filter(school=school, roster=26, state="built").latest("pk"),
    built(25, None),
    built(2, term),
]
parts, students = {}, defaultdict(dict)
for package in packages:
    if not package.is_built and package.state != "problems":
        raise SystemExit(f"roster {package.roster} ended {package.state}")
    RosterPackage.objects.filter(pk=package.pk).update(
        state=PackageState.SUBMITTED, submitted_at=timezone.now(), transport="download"
    )
    package.refresh_from_db()
    root = fmt.root_of(package.roster)
    part = parts.setdefault(root, {fmt.INFO: [], root: []})
    part[fmt.INFO].append({"名稱": package.file_name, "SHA": package.workbook_sha256})
    with package.workbook.open("rb") as workbook:
        for line in fmt.roster_lines(workbook):
            entry = students[root].setdefault(
                line.national_id, {"身分證號": line.national_id, "出生日期": line.birth_date}
            )
            entry.setdefault(line.sheet, []).append(line.record)
lines = 0
for root, entries in students.items():
    for n, entry in enumerate(entries.values()):
        sheets = [k for k in entry if k not in fmt.KEY]
        if n % 100 == 0:
            entry[sheets[0]].pop(0)
        elif n % 101 == 0:
            record = entry[sheets[0]][0]
            last = [k for k, v in record.items() if v and k not in fmt.RECORD_HEAD][-1]
            record[last] += "（變更）"
        lines += sum(len(entry[k]) for k in sheets)
    parts[root][root] = list(entries.values())
with open(RECEIPT, "wb") as target:
    fmt.receipt_write(target, prefix=f"{SCHOOL}_{ROC_YEAR}", parts=parts, password=PASSWORD)
print("SETUP", len(students["課程學習成果"]), lines)
"""

IMPORT = """
import hashlib
from portfolio.models import SchoolYear
from submissions.services.receipts import receipt_import
year = SchoolYear.objects.get(school__code=SCHOOL, roc_year=ROC_YEAR)
with open(RECEIPT, "rb") as file:
    sha = hashlib.sha256(file.read()).hexdigest()
    file.seek(0)
    receipt, new = receipt_import(
        school=year.school, school_year=year, file=file, file_name="bench.zip",
        password=PASSWORD, sha256=sha, by=None, via="upload",
    )
"""

REPORT = """
from submissions.models import Receipt
r = Receipt.objects.latest("pk")
c = r.counts
print("RECEIPT", c["students"], c["lines"], c["received"], c["missing"], c["different"])
"""


def receipt(
    env: Mapping[str, str], manage: Callable[..., str]
) -> list[tuple[str, float, str, int]]:
    header = (
        f"SCHOOL = {SCHOOL!r}\nROC_YEAR = {int(current_term().split('-')[0])}\n"
        f"RECEIPT = {RECEIPT!r}\nPASSWORD = {PASSWORD!r}\n"
    )
    output = manage("shell", "-c", header + SETUP)
    line = next((row for row in output.splitlines() if row.startswith("SETUP ")), "")
    if not line or int(line.split()[1]) < STUDENTS:
        raise BenchError(f"the receipt was not set up for {STUDENTS} students: {output[-1500:]}")
    received_lines = int(line.split()[2])
    seconds, peak = timed_manage(env, "shell", "-c", header + IMPORT)
    output = manage("shell", "-c", REPORT)
    line = next((row for row in output.splitlines() if row.startswith("RECEIPT ")), "")
    parts = [int(p) for p in line.split()[1:]]
    if len(parts) < 5 or parts[0] < STUDENTS or parts[2] + parts[4] < received_lines - 1:
        raise BenchError(f"the receipt was not imported whole: {output[-1000:]}")
    if not parts[3] or not parts[4]:
        raise BenchError(f"the dropped and altered lines were not found: {line}")
    log(f"receipt: {parts[0]} students, {parts[1]} lines ({parts[3]} missing, {parts[4]} "
        f"different), {seconds:.1f} s, peak {peak:.0f} MB")  # fmt: skip
    return [
        (f"receipt_import_{STUDENTS}_students_s", seconds, "s", 1),
        ("receipt_import_peak_mb", peak, "MB", 0),
    ]
