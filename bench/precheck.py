"""The grade roster's pre-check of the demo school's first term once ``import_grades`` has
given 3,000 students 15 courses each (45,000 rows): the job run in its own process
(``manage.py shell``), wall time and peak memory, the pre-check file written."""

from collections.abc import Callable, Mapping

from bench.errors import BenchError, log
from bench.imports import SCHOOL, STUDENTS, SUBJECTS, current_term, timed_manage

SCRIPT = """
from portfolio.jobs import job_run
from portfolio.models import Job, Term
from submissions.services.precheck import PRECHECK_JOB
roc_year, number = TERM.split("-")
term = Term.objects.get(school__code=SCHOOL, school_year__roc_year=int(roc_year), number=int(number))
job = Job.objects.create(
    school=term.school, kind=PRECHECK_JOB,
    params={"term": term.pk, "division": "day", "language": "zh-hant"},
)
job_run(job.pk)
job.refresh_from_db()
print("PRECHECK", job.status, job.result.get("rows", 0), job.result.get("problem_count", 0))
"""


def precheck(
    env: Mapping[str, str], manage: Callable[..., str]
) -> list[tuple[str, float, str, int]]:
    script = f"SCHOOL = {SCHOOL!r}\nTERM = {current_term()!r}\n{SCRIPT}"
    seconds, peak = timed_manage(env, "shell", "-c", script)
    output = manage("shell", "-c", "from portfolio.models import Job; "
                    "j = Job.objects.filter(kind='roster.precheck').latest('created_at'); "
                    "print('PRECHECK', j.status, j.result.get('rows', 0))")  # fmt: skip
    line = next((row for row in output.splitlines() if row.startswith("PRECHECK ")), "")
    parts = line.split()
    if len(parts) < 3 or parts[1] != "succeeded":
        raise BenchError(f"the pre-check did not succeed: {output[-1000:]}")
    rows = int(parts[2])
    if rows < STUDENTS * SUBJECTS:
        raise BenchError(f"the pre-check wrote {rows} rows, fewer than {STUDENTS * SUBJECTS}")
    log(f"pre-check: {rows} rows, {seconds:.1f} s, peak {peak:.0f} MB")
    return [
        (f"precheck_{STUDENTS}_students_s", seconds, "s", 1),
        (f"precheck_{STUDENTS}_students_peak_mb", peak, "MB", 0),
    ]
