"""A student whose school year has a selection window open now, with outcomes and
performances of every kind the selection page tells apart (SelectionWorld)."""

import datetime as dt

from django.utils import timezone

from accounts.models import Role
from portfolio.lib import roc
from portfolio.models import SchoolPolicy, SchoolYear, Window, WindowKind
from records.models import Course, CourseEnrolment, SchoolClass, Student
from submissions.models import (
    CourseOutcome,
    OutcomeState,
    Performance,
    PerformanceSource,
    PerformanceState,
    StoredFile,
)
from tests.builders.people import acting, client_for, english


class SelectionWorld:
    def __init__(self, school, make_member, *, number="S1", class_name="101", grade=10):
        self.school = school
        self.year = SchoolYear.objects.get(
            school=school, roc_year=roc.school_year_of(timezone.localdate())
        )
        self.term1, self.term2 = self.year.terms.order_by("number")
        self.policy = SchoolPolicy.objects.get(school_year=self.year)
        self.klass = SchoolClass.objects.filter(
            school=school, school_year=self.year, name=class_name
        ).first() or SchoolClass.objects.create(
            school=school, school_year=self.year, name=class_name, grade=grade
        )
        self.member = make_member(school, Role.STUDENT)
        self.student = Student.objects.create(
            school=school,
            student_number=number,
            name="甲",
            school_class=self.klass,
            user=self.member.user,
        )
        self.by = acting(self.member)
        now = timezone.now()
        self.opens, self.closes = now - dt.timedelta(days=1), now + dt.timedelta(days=5)
        self.window = Window.objects.get_or_create(
            school=school,
            term=self.term2,
            kind=WindowKind.SELECTION,
            grade=grade,
            defaults={"starts_at": self.opens, "ends_at": self.closes},
        )[0]
        self.after = self.window.ends_at + dt.timedelta(minutes=1)

    def client(self):
        return english(client_for(self.member))

    def stored(self, name="report.pdf") -> StoredFile:
        n = StoredFile.objects.count()
        return StoredFile.objects.create(
            school=self.school,
            student=self.student,
            storage_key=f"{n:032x}.pdf",
            display_name=name,
            extension="pdf",
            mime="application/pdf",
            size=1,
            sha256="0" * 64,
        )

    def outcome(self, title="實驗報告", *, state=OutcomeState.CERTIFIED, term=None, code=None):
        term = term or self.term1
        n = Course.objects.filter(school=self.school).count()
        course = Course.objects.create(
            school=self.school,
            term=term,
            code=code or f"{n:023d}",
            name=f"物理{n}",
            grade=10,
            credits=2,
        )
        enrolment = CourseEnrolment.objects.create(
            school=self.school, student=self.student, course=course
        )
        return CourseOutcome.objects.create(
            school=self.school,
            student=self.student,
            enrolment=enrolment,
            title=title,
            description="以單擺測量重力加速度。",
            document=self.stored(),
            state=state,
        )

    def performance(
        self, name="校內科展", *, source=PerformanceSource.STUDENT, state=PerformanceState.SAVED
    ):
        return Performance.objects.create(
            school=self.school,
            student=self.student,
            school_year=self.year,
            category="work",
            source=source,
            state=state,
            name=name,
            description="作品說明",
            starts_on=timezone.localdate(),
            document=self.stored("work.pdf"),
        )
