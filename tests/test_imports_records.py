"""Imports of courses (with teachers), course enrolments and term grades."""

from decimal import Decimal

import pytest

from accounts import services as account_services
from accounts.models import Role
from portfolio.models import AuditLog, Term
from records.models import Course, CourseEnrolment, Student
from tests.builders.imports import bad_checksum, csv_bytes, nid, problems, roster, run, xlsx_bytes


@pytest.fixture
def term(school, current_roc_year) -> Term:
    return Term.objects.get(school=school, school_year__roc_year=current_roc_year, number=1)


COURSE_HEADER = ["課程代碼", "科目名稱", "開課年級", "修課學分", "開課班級", "授課教師"]
GRADE_HEADER = [
    "學號",
    "身分證號",
    "課程代碼",
    "開課班級",
    "學期學業成績",
    "及格",
    "補考成績",
    "補考及格",
    "是否採計學分",
    "質性文字描述",
]


def code(n: int, category: str = "1") -> str:
    """A 23-character course code of school 123456."""
    return f"114123456H11101A{category}0101{n:02d}"


@pytest.fixture
def teachers(school, make_member):
    wang = make_member(school, Role.TEACHER, username="wang", name="王老師")
    lee = make_member(school, Role.TEACHER, username="lee", name="李老師")
    return {"wang": wang.user, "lee": lee.user}


@pytest.fixture
def students(school):
    run("students", xlsx_bytes(roster(4)), school, apply=True)
    return {s.student_number: s for s in Student.objects.filter(school=school)}


@pytest.fixture
def courses(school, term, teachers):
    rows = [
        COURSE_HEADER,
        [code(1), "國語文", 10, 4, "", "wang"],
        [code(2), "數學", 10, 4, "101", "王老師、lee"],
        [code(2), "數學", 10, 4, "102", "lee"],
    ]
    result = run("courses", xlsx_bytes(rows, title="開設課程"), school, term=term, apply=True)
    assert result["written"], result["errors"]
    return {(c.code, c.section): c for c in Course.objects.filter(term=term)}


# Courses -------------------------------------------------------------------------------


def test_courses_are_added_with_their_teachers_then_unchanged(school, term, courses, teachers):
    assert set(courses) == {(code(1), ""), (code(2), "101"), (code(2), "102")}
    math = courses[(code(2), "101")]
    assert (math.name, math.grade, math.credits) == ("數學", 10, 4)
    assert set(math.teachers.all()) == {teachers["wang"], teachers["lee"]}
    assert math.school == school and math.term == term
    rows = [
        COURSE_HEADER,
        [code(1), "國語文", 10, 4, "", "wang"],
        [code(2), "數學", "1", "4", "101", "lee, 王老師"],
        [code(2), "數學", 10, 4, "102", "LEE"],
    ]
    again = run("courses", xlsx_bytes(rows), school, term=term, apply=True)
    assert again["counts"] == {
        "rows": 3,
        "added": 0,
        "changed": 0,
        "unchanged": 3,
        "errors": 0,
        "bad_rows": 0,
    }


def test_course_changes_and_teachers_swapped(school, term, courses, teachers):
    rows = [COURSE_HEADER, [code(1), "國語文(一)", 10, 3, "", "lee"]]
    result = run("courses", xlsx_bytes(rows), school, term=term)
    changes = result["changed"][0]["changes"]
    assert ["科目名稱", "國語文", "國語文(一)"] in changes
    assert ["修課學分", "4", "3"] in changes
    assert ["授課教師", "王老師 (wang)", "李老師 (lee)"] in changes
    run("courses", xlsx_bytes(rows), school, term=term, apply=True)
    course = Course.objects.get(term=term, code=code(1))
    assert course.name == "國語文(一)" and course.credits == 3
    assert list(course.teachers.all()) == [teachers["lee"]]


def test_without_a_teacher_column_teachers_stay(school, term, courses, teachers):
    rows = [COURSE_HEADER[:4], [code(1), "國語文", 10, 4]]
    result = run("courses", xlsx_bytes(rows), school, term=term, apply=True)
    assert result["counts"]["unchanged"] == 1
    assert list(courses[(code(1), "")].teachers.all()) == [teachers["wang"]]


def test_course_problems(school, term, teachers, make_member):
    other = make_member(school, Role.TEACHER, username="chen", name="王老師")  # a namesake
    off = make_member(school, Role.TEACHER, username="gone", name="離職")
    account_services.membership_set_active(membership=off, active=False, by=None)
    make_member(school, Role.REGISTRY, username="clerk", name="註冊組")
    rows = [
        COURSE_HEADER,
        [code(1), "國語文", 10, 4, "", "王老師"],
        [code(2)[:-1], "數學", 10, 4, "", ""],
        [code(3).replace("H", "1", 1), "英文", 10, 4, "", ""],
        [code(4, category="Z"), "英文", 10, 4, "", ""],
        [code(5), "化學", 13, 31, "", "gone、clerk"],
        [code(6), "物理", 10, 2, "", "wang"],
        [code(6), "物理", 10, 2, "", "lee"],
    ]
    result = run("courses", xlsx_bytes(rows), school, term=term, apply=True)
    assert not result["written"]
    assert problems(result) == {
        (2, "授課教師", "teacher_ambiguous"),
        (3, "課程代碼", "course_code_length"),
        (4, "課程代碼", "course_code_shape"),
        (5, "課程代碼", "course_code_category"),
        (6, "開課年級", "grade"),
        (6, "修課學分", "out_of_range"),
        (8, "課程代碼", "duplicate"),
    }
    assert other.user.username == "chen"
    rows = [COURSE_HEADER, [code(5), "化學", 12, 3, "", "gone、clerk"]]
    result = run("courses", xlsx_bytes(rows), school, term=term)
    assert problems(result) == {(2, "授課教師", "teacher_unknown")}
    assert {p["params"]["name"] for p in result["errors"]} == {"gone", "clerk"}
    assert not Course.objects.exists()


def test_courses_need_a_term(school):
    rows = [COURSE_HEADER, [code(1), "國語文", 10, 4, "", ""]]
    assert problems(run("courses", xlsx_bytes(rows), school)) == {(0, "", "term_required")}


# Enrolments ----------------------------------------------------------------------------


def test_enrolments_by_student_number_or_national_id(school, term, students, courses):
    rows = [
        ["學號", "身分證號", "課程代碼", "開課班級"],
        ["S0001", "", code(1), ""],
        ["", nid(2), code(1), None],
        ["S0003", nid(3), code(2), "101"],
    ]
    data = csv_bytes(rows)
    result = run("enrolments", data, school, term=term, apply=True, name="e.csv")
    assert result["written"] and result["counts"]["added"] == 3
    assert result["added"][0]["key"] == "S0001"
    assert "國語文" in result["added"][0]["label"]
    pairs = set(CourseEnrolment.objects.values_list("student__student_number", "course__section"))
    assert pairs == {("S0001", ""), ("S0002", ""), ("S0003", "101")}
    again = run("enrolments", data, school, term=term, apply=True, name="e.csv")
    assert again["counts"]["added"] == 0 and again["counts"]["unchanged"] == 3
    assert CourseEnrolment.objects.count() == 3


def test_enrolment_problems(school, term, students, courses):
    rows = [
        ["學號", "身分證號", "課程代碼", "開課班級"],
        ["S9999", "", code(1), ""],
        ["", nid(77), code(1), ""],
        ["S0001", nid(2), code(1), ""],
        ["S0001", "", code(9), ""],
        ["S0001", "", code(2), ""],
        ["S0001", "", code(2), "103"],
        ["S0002", "", code(1), ""],
        ["", nid(2), code(1), ""],
        ["", "", code(1), ""],
        ["S0003", bad_checksum(nid(3)), code(1), ""],
    ]
    result = run("enrolments", xlsx_bytes(rows), school, term=term, apply=True)
    assert problems(result) == {
        (2, "學號", "student_unknown"),
        (3, "身分證號", "student_unknown"),
        (4, "身分證號", "student_mismatch"),
        (5, "課程代碼", "course_unknown"),
        (6, "課程代碼", "course_ambiguous"),
        (7, "課程代碼", "course_unknown"),
        (9, "課程代碼", "duplicate"),
        (10, "學號", "required"),
        (11, "身分證號", "national_id_checksum"),
    }
    assert not CourseEnrolment.objects.exists()


def test_an_enrolment_file_needs_a_student_column(school, term, courses):
    result = run("enrolments", xlsx_bytes([["課程代碼"], [code(1)]]), school, term=term)
    assert problems(result) == {(1, "學號/身分證號", "missing_student_column")}


# Grades --------------------------------------------------------------------------------


def test_grades_enrol_students_update_grades_and_are_idempotent(school, term, students, courses):
    CourseEnrolment.objects.create(
        school=school, student=students["S0001"], course=courses[(code(1), "")]
    )
    rows = [
        GRADE_HEADER,
        ["S0001", "", code(1), "", "78.5", "1", "-1", "", "1", "表現穩定"],
        ["", nid(2), code(1), "", 59, "否", 60, "是", "2", ""],
        ["S0003", "", code(2), "101", "100", "Y", "", "", "", ""],
    ]
    data = xlsx_bytes(rows, title="學期成績")
    preview = run("grades", data, school, term=term)
    assert preview["counts"]["added"] == 2 and preview["counts"]["changed"] == 1
    changed = preview["changed"][0]
    assert changed["key"] == "S0001"
    assert ["學期學業成績", "", "78.5"] in changed["changes"]
    assert ["及格", "", "1"] in changed["changes"]

    result = run("grades", data, school, term=term, apply=True)
    assert result["written"]
    grades = {
        e.student.student_number: e
        for e in CourseEnrolment.objects.select_related("student", "course")
    }
    assert grades["S0001"].score == Decimal("78.5") and grades["S0001"].passed is True
    assert grades["S0001"].makeup_score is None and grades["S0001"].counts_credit == "1"
    assert grades["S0001"].description == "表現穩定"
    assert grades["S0002"].passed is False and grades["S0002"].makeup_score == Decimal(60)
    assert grades["S0002"].makeup_passed is True
    assert grades["S0003"].course.section == "101" and grades["S0003"].makeup_passed is None
    assert CourseEnrolment.objects.count() == 3
    audit = AuditLog.objects.get(action="import.grades")
    assert audit.changes["added"] == 2 and audit.changes["changed"] == 1
    assert audit.changes["term"] == term.label

    again = run("grades", data, school, term=term, apply=True)
    assert again["counts"]["unchanged"] == 3
    assert again["counts"]["added"] == again["counts"]["changed"] == 0


def test_grade_columns_the_file_lacks_are_left_alone(school, term, students, courses):
    full = [GRADE_HEADER, ["S0001", "", code(1), "", 80, 1, 70, 1, "1", "很好"]]
    run("grades", xlsx_bytes(full), school, term=term, apply=True)
    short = [["學號", "課程代碼", "學期成績", "成績及格"], ["S0001", code(1), 85, 1]]
    result = run("grades", xlsx_bytes(short), school, term=term, apply=True)
    assert result["counts"]["changed"] == 1
    grade = CourseEnrolment.objects.get()
    assert grade.score == 85 and grade.makeup_score == 70 and grade.description == "很好"


def test_grade_problems(school, term, students, courses):
    born = students["S0001"].birth_date
    header = [*GRADE_HEADER, "出生日期"]
    rows = [
        header,
        ["S0001", "", code(1), "", "101", "1", "", "", "", "", ""],
        ["S0002", "", code(1), "", "78.555", "1", "", "", "", "", ""],
        ["S0003", "", code(1), "", "abc", "maybe", "-2", "2", "4", "x" * 501, ""],
        ["S0004", "", code(1), "", "60", "1", "", "", "", "", "0990101"],
        ["S0001", "", code(2), "101", "", "", "", "", "", "", born.isoformat()],
    ]
    result = run("grades", xlsx_bytes(rows), school, term=term, apply=True)
    assert problems(result) == {
        (2, "學期學業成績", "out_of_range"),
        (3, "學期學業成績", "decimals"),
        (4, "學期學業成績", "number"),
        (4, "及格", "flag"),
        (4, "補考成績", "out_of_range"),
        (4, "補考及格", "flag"),
        (4, "是否採計學分", "counts_credit"),
        (4, "質性文字描述", "too_long"),
        (5, "出生日期", "birth_date_mismatch"),
        (6, "學期學業成績", "required"),
        (6, "及格", "required"),
    }
    assert not CourseEnrolment.objects.exists()


def test_grade_scores_written_by_spreadsheets_as_floats(school, term, students, courses):
    rows = [GRADE_HEADER[:6], ["S0001", "", code(1), "", 78.55, True]]
    result = run("grades", xlsx_bytes(rows), school, term=term, apply=True)
    assert result["written"], result["errors"]
    assert CourseEnrolment.objects.get().score == Decimal("78.55")


@pytest.mark.parametrize("distinct_limit", [200, 1])
def test_changed_fields_are_written_grouped_or_row_by_row(
    school, term, students, courses, distinct_limit
):
    from records.imports.base import update_changed

    course = courses[(code(1), "")]
    rows = [
        CourseEnrolment.objects.create(school=school, student=s, course=course, score=50)
        for s in students.values()
    ]
    update_changed(
        CourseEnrolment,
        [(row.pk, {"score": Decimal(60), "description": f"第{i}"}) for i, row in enumerate(rows)],
        batch=2,
        distinct_limit=distinct_limit,
    )
    written = CourseEnrolment.objects.order_by("pk").values_list("score", "description")
    assert list(written) == [(Decimal(60), f"第{i}") for i in range(len(rows))]
