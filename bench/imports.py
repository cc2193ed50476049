"""Import benchmarks: ``manage.py import_records`` on generated workbooks, each run in a
subprocess against the bench database, measuring its wall time and its peak memory
(the child's maximum resident set size, from ``os.wait4``).

- students: 3,000 students of the demo school in 60 classes (an xlsx roster);
- grades: 45,000 term grades, 15 courses for each of those students (the courses are
  imported first, untimed), which also enrols every student in their courses.

Both files are new to the database, so every row is written: the heaviest case.
"""

import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from bench.errors import BenchError, log
from bench.server import ROOT

SCHOOL = "999001"
STUDENTS = 3000
CLASSES_PER_GRADE = 20
SUBJECTS = 15
LETTER_CODES = {"K": 19}  # 苗栗縣: not a letter the demo students' IDs use


def current_term() -> str:
    """The demo school's first term: its school year is today's, in Taiwan."""
    today = dt.datetime.now(ZoneInfo("Asia/Taipei")).date()
    roc_year = today.year - 1911 if today.month >= 8 else today.year - 1912
    return f"{roc_year}-1"


def national_id(serial: int, gender: int) -> str:
    first = LETTER_CODES["K"]
    digits = f"{gender}{serial:07d}"
    total = first // 10 + (first % 10) * 9
    total += sum(int(d) * w for d, w in zip(digits, (8, 7, 6, 5, 4, 3, 2, 1), strict=True))
    return f"K{digits}{(10 - total % 10) % 10}"


def _classes() -> list[tuple[str, int]]:
    return [
        (f"{grade - 9}{number:02d}", grade)
        for grade in (10, 11, 12)
        for number in range(1, CLASSES_PER_GRADE + 1)
    ]


def _students() -> list[tuple[str, str, int]]:
    """(student number, class name, grade) of every generated student."""
    classes = _classes()
    per_class = STUDENTS // len(classes)
    return [
        (f"B{index:06d}", name, grade)
        for index, (name, grade) in enumerate(
            ((name, grade) for name, grade in classes for _seat in range(per_class)), start=1
        )
    ]


def _save(path: Path, header: list[str], rows) -> Path:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("工作表1")
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def _course_code(grade: int, subject: int) -> str:
    return f"114{SCHOOL}H11101A1010{grade - 9}{subject:02d}"


def students_file(folder: Path) -> Path:
    surnames = "陳林黃張李王吳劉蔡楊許鄭謝郭洪曾邱廖賴周"
    given = "家豪雅婷志明淑芬冠宇怡君承恩佳穎柏翰詩涵"
    rows = []
    for index, (number, class_name, grade) in enumerate(_students(), start=1):
        gender = 1 + index % 2
        born = dt.date(2009 - (grade - 10), 9, 2) + dt.timedelta(days=index % 365)
        name = surnames[index % 20] + given[(index * 2) % 20 : (index * 2) % 20 + 2]
        seat = (index - 1) % (STUDENTS // (3 * CLASSES_PER_GRADE)) + 1
        rows.append(
            [
                number,
                national_id(index, gender),
                name,
                str(gender),
                f"{born.year - 1911:03d}{born.month:02d}{born.day:02d}",
                class_name,
                seat,
                "101",
            ]
        )
    header = ["學號", "身分證號", "姓名", "性別", "出生日期", "班級", "座號", "科/班/學程別代碼"]
    return _save(folder / "students-3000.xlsx", header, rows)


def courses_file(folder: Path) -> Path:
    rows = [
        [_course_code(grade, subject), f"科目{subject:02d}", grade, 2, class_name]
        for class_name, grade in _classes()
        for subject in range(1, SUBJECTS + 1)
    ]
    header = ["課程代碼", "科目名稱", "開課年級", "修課學分", "開課班級"]
    return _save(folder / "courses.xlsx", header, rows)


def grades_file(folder: Path) -> Path:
    def rows():
        for index, (number, class_name, grade) in enumerate(_students()):
            for subject in range(1, SUBJECTS + 1):
                score = 40 + (index * 7 + subject * 13) % 61
                yield [
                    number,
                    _course_code(grade, subject),
                    class_name,
                    score,
                    1 if score >= 60 else 0,
                    -1 if score >= 60 else 60,
                    "" if score >= 60 else 1,
                    1,
                    "學習態度積極" if subject == 1 else "",
                ]

    header = [
        "學號",
        "課程代碼",
        "開課班級",
        "學期學業成績",
        "及格",
        "補考成績",
        "補考及格",
        "是否採計學分",
        "質性文字描述",
    ]
    return _save(folder / f"grades-{STUDENTS * SUBJECTS}.xlsx", header, rows())


def timed_import(env: Mapping[str, str], *args: str, timeout: float = 600) -> tuple[float, float]:
    """(seconds, peak MB) of ``manage.py import_records ARGS`` in its own process."""
    seconds, peak_mb = timed_manage(env, "import_records", *args, timeout=timeout)
    log(f"import_records {args[0]}: {seconds:.1f} s, peak {peak_mb:.0f} MB")
    return seconds, peak_mb


def timed_manage(env: Mapping[str, str], *args: str, timeout: float = 600) -> tuple[float, float]:
    """(seconds, peak MB) of ``manage.py ARGS`` in its own process."""
    command = [sys.executable, str(ROOT / "manage.py"), *args]
    with tempfile.TemporaryFile() as output:
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=ROOT, env=dict(env), stdout=output, stderr=output)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                os.wait4(process.pid, 0)
                raise BenchError(f"manage.py {args[0]} took more than {timeout:.0f} s")
            time.sleep(0.02)
        seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            output.seek(0)
            tail = output.read().decode(errors="replace")[-3000:]
            raise BenchError(f"manage.py {' '.join(args[:2])} failed:\n{tail}")
    return seconds, usage.ru_maxrss / 1024  # kilobytes on Linux


def count(manage, what: str) -> int:
    """Rows of the demo school in the bench database, to check an import wrote them."""
    queries = {
        "students": "from records.models import Student as M; q = M.objects.filter(school__code='{s}')",
        "grades": "from records.models import CourseEnrolment as M; q = M.objects.filter(school__code='{s}', score__isnull=False)",
    }
    output = manage("shell", "-c", queries[what].format(s=SCHOOL) + "; print(q.count())")
    try:
        return int(output.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise BenchError(f"could not count {what}: {output[-500:]}") from exc


def folder_for(env: Mapping[str, str]) -> Path:
    folder = Path(env["PORTFOLIO_VAR_DIR"]) / "bench-imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def students(env: Mapping[str, str], manage) -> list[tuple[str, float, str, int]]:
    folder = folder_for(env)
    path = students_file(folder)
    before = count(manage, "students")
    seconds, peak = timed_import(env, "students", str(path), "--school", SCHOOL)
    added = count(manage, "students") - before
    if added != STUDENTS:
        raise BenchError(f"the student import added {added} students, not {STUDENTS}")
    return [
        (f"import_students_{STUDENTS}_s", seconds, "s", 1),
        (f"import_students_{STUDENTS}_peak_mb", peak, "MB", 0),
    ]


def grades(env: Mapping[str, str], manage) -> list[tuple[str, float, str, int]]:
    folder = folder_for(env)
    term = current_term()
    manage(
        "import_records", "courses", str(courses_file(folder)), "--school", SCHOOL, "--term", term
    )
    path = grades_file(folder)
    before = count(manage, "grades")
    seconds, peak = timed_import(env, "grades", str(path), "--school", SCHOOL, "--term", term)
    written = count(manage, "grades") - before
    total = STUDENTS * SUBJECTS
    if written != total:
        raise BenchError(f"the grade import wrote {written} grades, not {total}")
    return [
        (f"import_grades_{total}_s", seconds, "s", 1),
        (f"import_grades_{total}_peak_mb", peak, "MB", 0),
    ]
