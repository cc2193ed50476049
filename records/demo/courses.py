"""Demo courses: both terms of the demo year, every student enrolled in their class's courses,
term-1 grades, and a course-code check of term 1 against an official list.

Codes are shaped like real ones: ``{entry year}999001H{group}{department}{class group}
{category}{delivery}{attribute}{domain}{sequence}``, the entry year being the one of the
grade's students (grade 10 entered this school year). Each course is offered to one class,
named as its section. Bulk writes keep ``seed_demo`` fast; running again adds nothing.
"""

import dataclasses
import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from portfolio.lib.course_code import CourseCode
from portfolio.models import School, SchoolYear, Term
from records.models import Course, CourseCodeCheck, CourseCodeList, CourseEnrolment, Student
from records.services import courses as services

ORDER = 20
COURSE_TYPE, GROUP, DEPARTMENT, CLASS_GROUP, DELIVERY = "H", "11", "101", "0", "0"
CLASS_OF_GRADE = {10: "101", 11: "201", 12: "301"}


@dataclasses.dataclass(frozen=True)
class Subject:
    name: str
    category: str
    attribute: str
    domain: str
    sequence: str
    credits: int
    terms: tuple[int, ...] = (1, 2)
    teacher: str = ""  # a demo username


def _common() -> list[Subject]:
    return [
        Subject("英語文", "1", "1", "01", "02", 4),
        Subject("數學", "1", "1", "02", "01", 4, teacher="teacher"),
        Subject("體育", "1", "1", "08", "02", 2),
        Subject("團體活動時間", "8", "0", "06", "01", 0),
        Subject("彈性學習時間", "9", "C", "00", "01", 0),
        Subject("自主學習", "9", "A", "00", "02", 0),
    ]


SUBJECTS: dict[int, list[Subject]] = {
    10: [
        Subject("國語文", "1", "1", "01", "01", 4, teacher="homeroom"),
        *_common(),
        Subject("歷史", "1", "1", "03", "01", 2),
        Subject("地理", "1", "1", "03", "02", 2),
        Subject("公民與社會", "1", "1", "03", "03", 2),
        Subject("物理", "1", "1", "04", "01", 2, terms=(1,)),
        Subject("化學", "1", "1", "04", "02", 2, terms=(1,)),
        Subject("生物", "1", "1", "04", "03", 2, terms=(2,)),
        Subject("地球科學", "1", "1", "04", "04", 2, terms=(2,)),
        Subject("音樂", "1", "1", "05", "01", 1),
        Subject("美術", "1", "1", "05", "02", 1),
        Subject("資訊科技", "1", "1", "07", "01", 2, terms=(1,), teacher="teacher"),
        Subject("生活科技", "1", "1", "07", "02", 2, terms=(2,)),
        Subject("健康與護理", "1", "1", "08", "01", 1),
        Subject("程式設計入門(多元選修)", "5", "1", "07", "11", 2, teacher="teacher"),
    ],
    11: [
        Subject("國語文", "1", "1", "01", "01", 4),
        *_common(),
        Subject("歷史", "1", "1", "03", "01", 2),
        Subject("地理", "1", "1", "03", "02", 2),
        Subject("公民與社會", "1", "1", "03", "03", 2),
        Subject("物理", "1", "1", "04", "01", 2, terms=(2,)),
        Subject("化學", "1", "1", "04", "02", 2, terms=(2,)),
        Subject("生物", "1", "1", "04", "03", 2, terms=(1,)),
        Subject("地球科學", "1", "1", "04", "04", 2, terms=(1,)),
        Subject("音樂", "1", "1", "05", "01", 1),
        Subject("美術", "1", "1", "05", "02", 1),
        Subject("健康與護理", "1", "1", "08", "01", 1),
        Subject("英語聽講(多元選修)", "5", "1", "01", "11", 2),
    ],
    12: [
        Subject("國語文", "1", "1", "01", "01", 4),
        *_common(),
        Subject("歷史(加深加廣)", "3", "1", "03", "11", 2, terms=(1,)),
        Subject("地理(加深加廣)", "3", "1", "03", "12", 2, terms=(1,)),
        Subject("公民與社會(加深加廣)", "3", "1", "03", "13", 2, terms=(2,)),
        Subject("物理(加深加廣)", "3", "1", "04", "11", 2, teacher="teacher"),
        Subject("化學(加深加廣)", "3", "1", "04", "12", 2),
        Subject("生物(加深加廣)", "3", "1", "04", "13", 2, terms=(2,)),
        Subject("地球科學(加深加廣)", "3", "1", "04", "14", 2, terms=(1,)),
        Subject("美術", "1", "1", "05", "02", 1, terms=(2,)),
        Subject("數學探究(多元選修)", "5", "1", "02", "11", 2),
    ],
}


def course_code_for(*, school: School, entry_year: int, subject: Subject) -> str:
    return (
        f"{entry_year:03d}{school.code}{COURSE_TYPE}{GROUP}{DEPARTMENT}{CLASS_GROUP}"
        f"{subject.category}{DELIVERY}{subject.attribute}{subject.domain}{subject.sequence}"
    )


def _at(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def _courses(*, school: School, year: SchoolYear, term: Term, staff: dict) -> list[Course]:
    existing = {(c.code, c.section): c for c in Course.objects.filter(term=term)}
    wanted, teachers = [], []
    for grade, subjects in SUBJECTS.items():
        entry_year = year.roc_year - (grade - 10)
        for subject in subjects:
            if term.number not in subject.terms:
                continue
            code = course_code_for(school=school, entry_year=entry_year, subject=subject)
            section = CLASS_OF_GRADE[grade]
            if (code, section) in existing:
                continue
            course = Course(
                school=school,
                term=term,
                code=code,
                section=section,
                name=subject.name,
                grade=grade,
                credits=subject.credits,
            )
            wanted.append(course)
            teachers.append(staff.get(subject.teacher) if subject.teacher else None)
    if wanted:
        created = Course.objects.bulk_create(wanted)
        Through = Course.teachers.through
        Through.objects.bulk_create(
            [
                Through(course_id=course.pk, user_id=teacher.pk)
                for course, teacher in zip(created, teachers, strict=True)
                if teacher is not None
            ]
        )
        # The plan was entered before the term began (or a little while ago, for a term
        # that has begun already), so the check below comes after it.
        now = timezone.now()
        planned = min(_at(term.starts_on - dt.timedelta(days=14), 9), now - dt.timedelta(hours=2))
        Course.objects.filter(pk__in=[c.pk for c in created]).update(changed_at=planned)
    return list(Course.objects.filter(term=term))


def _score(rng: random.Random) -> int:
    return max(40, min(98, round(rng.gauss(76, 11))))


def _enrol(*, school: School, term: Term, courses: list[Course], students: list[Student]) -> None:
    by_class: dict[str, list[Student]] = {}
    for student in students:
        school_class = student.school_class
        assert school_class is not None, "every demo student has a class"
        by_class.setdefault(school_class.name, []).append(student)
    existing = set(
        CourseEnrolment.objects.filter(course__term=term).values_list("student_id", "course_id")
    )
    graded = term.number == 1
    rows = []
    for course in courses:
        gets_grade = graded and course.credits > 0 and CourseCode(course.code).submits_grades
        for student in by_class.get(course.section, []):
            if (student.pk, course.pk) in existing:
                continue
            row = CourseEnrolment(school=school, student=student, course=course)
            if gets_grade:
                # Fixed per student and course, so the demo reads the same every time.
                rng = random.Random(f"{student.student_number}:{course.code}")  # noqa: S311
                score = _score(rng)
                row.score, row.passed = score, score >= 60
                if score < 60 and rng.random() < 0.6:
                    makeup = rng.randint(50, 85)
                    row.makeup_score, row.makeup_passed = makeup, makeup >= 60
            rows.append(row)
    CourseEnrolment.objects.bulk_create(rows, batch_size=1000)


def _check(*, school: School, year: SchoolYear, term: Term, courses: list[Course]) -> None:
    """Term 1's official list and one check, run within the first weeks of the term."""
    now = timezone.now()
    if not CourseCodeList.objects.filter(term=term).exists():
        lines = dict.fromkeys(["課程代碼,科目名稱"] + [f"{c.code},{c.name}" for c in courses])
        services.code_list_upload(
            school=school,
            term=term,
            file_name=f"{school.code}_{year.roc_year}_{term.number}_課程代碼.csv",
            content=("\n".join(lines) + "\n").encode("utf-8-sig"),
            by=None,
        )
    if CourseCodeCheck.objects.filter(term=term).exists():
        return
    check = services.code_check_run(term=term, by=None)
    ran_at = min(_at(term.starts_on + dt.timedelta(days=5), 10), now - dt.timedelta(hours=1))
    CourseCodeCheck.objects.filter(pk=check.pk).update(ran_at=ran_at)
    CourseCodeList.objects.filter(term=term).update(uploaded_at=ran_at - dt.timedelta(minutes=20))


@transaction.atomic
def seed(*, school: School, year: SchoolYear, staff: dict) -> None:
    students = list(
        Student.objects.filter(school=school, school_class__school_year=year).select_related(
            "school_class"
        )
    )
    for term in year.terms.order_by("number"):
        courses = _courses(school=school, year=year, term=term, staff=staff)
        _enrol(school=school, term=term, courses=courses, students=students)
        if term.number == 1:
            _check(school=school, year=year, term=term, courses=courses)
