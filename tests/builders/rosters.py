"""A term's students and courses for the rosters (``RosterClass``), valid national IDs and
course codes, stored files with real bytes, and running a roster build to its end."""

import datetime as dt
import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from accounts.models import Division
from portfolio.lib import national_id
from portfolio.models import Term
from records.models import (
    Course,
    CourseEnrolment,
    Gender,
    SchoolClass,
    Student,
    StudentStatus,
)
from submissions.models import (
    CourseOutcome,
    OutcomeState,
    Performance,
    PerformanceSource,
    PerformanceState,
    RosterPackage,
    Selection,
    StoredFile,
)
from submissions.services import rosters

BIRTH = dt.date(2009, 5, 1)


def valid_id(n: int) -> str:
    stem = f"A1{n:07d}"
    return next(stem + str(d) for d in range(10) if national_id.is_valid(stem + str(d)))


def code(school, category="1", attribute="1", n=1) -> str:
    value = f"115{school.code}H110100{category}0{attribute}01{n:02d}"
    assert len(value) == 23, value
    return value


class RosterClass:
    """A class of the school's first term's year, and its students and courses."""

    def __init__(self, school, division=Division.DAY, name="101", term: Term | None = None):
        self.school = school
        self.term = term or Term.objects.filter(school=school).order_by("number").first()
        self.klass = SchoolClass.objects.create(
            school=school, school_year=self.term.school_year, name=name, grade=10, division=division
        )
        self.seat = 0

    def student(self, *, nid="", birth=BIRTH, status=StudentStatus.ENROLLED, number=None, **kw):
        self.seat += 1
        return Student.objects.create(
            school=self.school,
            student_number=number or f"{self.klass.name}{self.seat:02d}",
            name=f"學生{self.seat}",
            school_class=self.klass,
            seat_number=self.seat,
            national_id=nid or valid_id(self.seat + 100 * int(self.klass.name)),
            birth_date=birth,
            status=status,
            **kw,
        )

    def course(self, value, name="國語文", section=""):
        return Course.objects.create(
            school=self.school, term=self.term, code=value, name=name, section=section,
            grade=10, credits=4,
        )  # fmt: skip

    def enrol(self, student, *courses, **grades):
        for course in courses:
            CourseEnrolment.objects.create(
                school=self.school, student=student, course=course, **grades
            )


def stored_bytes(student, data: bytes, name="report.pdf") -> StoredFile:
    """A stored file whose bytes are really in storage, with their sha256."""
    n = StoredFile.objects.count()
    key = f"{n:030x}pk"
    stored = StoredFile(
        school=student.school,
        student=student,
        storage_key=key,
        display_name=name,
        extension=name.rsplit(".", 1)[-1],
        mime="application/pdf",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    default_storage.save(stored.storage_path, ContentFile(data))
    stored.save()
    return stored


def build(acting, kind_key, school_year, term=None, capture=None) -> RosterPackage:
    """Build a roster through the service and run its job (``capture``: pytest-django's
    django_capture_on_commit_callbacks); the package as it ended."""
    with capture(execute=True):
        package = rosters.package_start(
            acting=acting, kind=rosters.KINDS_BY_KEY[kind_key], school_year=school_year, term=term
        )
    package.refresh_from_db()
    return package


class SelectedYear:
    """Two students of class 101 with certified outcomes and a performance each, selected,
    the selections locked (the window closed)."""

    def __init__(self, school):
        self.school = school
        self.roster = RosterClass(school)
        self.term = self.roster.term
        self.year = self.term.school_year
        self.students = [self.roster.student(gender=Gender.FEMALE) for _ in range(2)]
        self.outcomes: list[CourseOutcome] = []
        self.performances: list[Performance] = []
        for n, student in enumerate(self.students, start=1):
            course = self.roster.course(code(school, n=n), f"物理{n}")
            self.roster.enrol(student, course)
            self.outcomes.append(
                CourseOutcome.objects.create(
                    school=school, student=student, enrolment=student.enrolments.get(),
                    title=f"報告{n}", description=f"成果{n}", state=OutcomeState.CERTIFIED,
                    document=stored_bytes(student, f"%PDF outcome {n}".encode()),
                )
            )  # fmt: skip
            self.performances.append(
                Performance.objects.create(
                    school=school, student=student, school_year=self.year, category="work",
                    source=PerformanceSource.STUDENT, state=PerformanceState.SAVED,
                    name=f"作品{n}", description="說明", starts_on=dt.date(2026, 10, 1),
                    document=stored_bytes(student, f"%PDF work {n}".encode(), "work.pdf"),
                )
            )  # fmt: skip
            selection = Selection.objects.create(
                school=school, student=student, school_year=self.year, locked_at=timezone.now()
            )
            selection.outcomes.set([self.outcomes[-1]])
            selection.performances.set([self.performances[-1]])
