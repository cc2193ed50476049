"""Demo students' basic data: national ID, gender, date of birth, department code.

Written through the student import, as a registry clerk would load the roster; the
values follow from each student's number, so running it again changes nothing.
"""

import csv
import datetime as dt
import hashlib
import io

from portfolio.lib import national_id
from portfolio.lib.roc import ROC_OFFSET, to_roc_date
from portfolio.models import SchoolYear
from records.models import Student

ORDER = 10
DEPARTMENT_CODE = "101"  # 普通科
FEMALE_NAMES = {"雅婷", "淑芬", "怡君", "佳穎", "詩涵", "欣妤", "思妤"}
LETTERS = "ABFHEDGJ"  # 臺北市, 臺中市, 新北市, 桃園市, 高雄市, 臺南市, 宜蘭縣, 新竹縣


def national_id_with_checksum(letter: str, digits: str) -> str:
    """A valid national ID from its letter and first 8 digits (sex digit first)."""
    first = national_id.LETTER_CODES[letter]
    weights = (8, 7, 6, 5, 4, 3, 2, 1)
    total = (
        first // 10
        + (first % 10) * 9
        + sum(int(d) * w for d, w in zip(digits, weights, strict=True))
    )
    return f"{letter}{digits}{(10 - total % 10) % 10}"


def demo_national_id(student_number: str, gender: str, taken: set[str]) -> str:
    """A deterministic ID for a student number; the next free one when taken."""
    seed = int(hashlib.sha256(student_number.encode()).hexdigest(), 16)
    letter = LETTERS[seed % len(LETTERS)]
    serial = seed // len(LETTERS) % 10_000_000
    while True:
        value = national_id_with_checksum(letter, f"{gender}{serial:07d}")
        if value not in taken:
            taken.add(value)
            return value
        serial = (serial + 1) % 10_000_000


def birth_date_for(grade: int, roc_year: int, student_number: str) -> dt.date:
    """A birthday that fits the grade: grade 10 of school year Y was born between
    September of (Y + 1911 - 16) and August of the following year."""
    start = dt.date(roc_year + ROC_OFFSET - 16 - (grade - 10), 9, 2)
    offset = int(hashlib.sha256(student_number.encode()).hexdigest()[:8], 16) % 365
    return start + dt.timedelta(days=offset)


def gender_for(name: str) -> str:
    return "2" if name[1:] in FEMALE_NAMES else "1"


HEADERS = [
    "學號",
    "身分證號",
    "姓名",
    "性別",
    "出生日期",
    "班級",
    "座號",
    "年級",
    "科/班/學程別代碼",
]


def roster_csv(students: list[Student], year: SchoolYear) -> bytes:
    """The roster as a registry clerk's CSV file (UTF-8 with BOM, ROC dates)."""
    taken: set[str] = set()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    for student in students:
        gender = gender_for(student.name)
        school_class = student.school_class
        assert school_class is not None, "every demo student has a class"
        grade = school_class.grade
        writer.writerow(
            [
                student.student_number,
                demo_national_id(student.student_number, gender, taken),
                student.name,
                gender,
                to_roc_date(birth_date_for(grade, year.roc_year, student.student_number)),
                school_class.name,
                student.seat_number or 1,
                grade,
                DEPARTMENT_CODE,
            ]
        )
    return out.getvalue().encode("utf-8-sig")


def seed(*, school, year, staff) -> None:
    from records.services.imports import import_apply, import_preview

    students = list(
        Student.objects.filter(school=school, school_class__school_year=year)
        .select_related("school_class")
        .order_by("student_number")
    )
    term = year.terms.order_by("number").first()
    if not students or term is None:
        return
    roster = roster_csv(students, year)
    arguments = {
        "kind": "students",
        "file_name": "demo-students.csv",
        "school": school,
        "term": term,
        "division": students[0].school_class.division,
    }
    preview = import_preview(stream=io.BytesIO(roster), **arguments)
    if preview["clean"] and not (preview["counts"]["added"] or preview["counts"]["changed"]):
        return  # already seeded: not even an audit row
    result = import_apply(stream=io.BytesIO(roster), by=None, **arguments)
    if not result["clean"]:
        raise RuntimeError(f"demo roster refused: {result['errors'][:5]}")
