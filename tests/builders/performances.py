"""A student with a school year, its performance-upload window and policy (World), and proof files."""

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import Role
from portfolio.models import SchoolPolicy, SchoolYear, Window, WindowKind
from records.models import SchoolClass, Student
from submissions.models import (
    Performance,
    PerformanceSource,
    PerformanceState,
)
from submissions.services import performances as services
from tests.builders.files import make_pdf
from tests.builders.people import acting


def pdf(name: str = "award.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, make_pdf(), content_type="application/pdf")


class World:
    """A grade-10 student of this school year, its performance window open now, an office."""

    def __init__(self, school, make_member, *, number="S1", seat=5, class_name="101"):
        self.school = school
        self.year = SchoolYear.objects.get(school=school, roc_year=_this_roc_year())
        self.term1, self.term2 = self.year.terms.order_by("number")
        self.policy = SchoolPolicy.objects.get(school_year=self.year)
        self.policy.performance_upload_cap_per_year = 10
        self.policy.save()
        self.klass = SchoolClass.objects.filter(
            school=school, school_year=self.year, name=class_name
        ).first() or SchoolClass.objects.create(
            school=school, school_year=self.year, name=class_name, grade=10
        )
        self.member = make_member(school, Role.STUDENT)
        self.student = Student.objects.create(
            school=school,
            student_number=number,
            name="甲",
            school_class=self.klass,
            seat_number=seat,
            user=self.member.user,
        )
        self.by = acting(self.member)
        now = timezone.now()
        self.opens = now - dt.timedelta(days=1)
        self.closes = now + dt.timedelta(days=10)
        self.window = Window.objects.get_or_create(
            school=school,
            term=self.term1,
            kind=WindowKind.PERFORMANCE_UPLOAD,
            defaults={"starts_at": self.opens, "ends_at": self.closes},
        )[0]
        self.office = acting(make_member(school, Role.STUDENT_AFFAIRS))
        self.today = timezone.localdate()

    def add(self, **overrides) -> Performance:
        args = {
            "student": self.student,
            "category": "competition",
            "name": "全國科學展覽會",
            "description": "物理科，研究單擺。",
            "starts_on": self.today - dt.timedelta(days=10),
            "details": dict(COMPETITION),
            "document": pdf(),
            "by": self.by,
        }
        args.update(overrides)
        return services.performance_add(**args)

    def enter(self, **overrides) -> Performance:
        args = {
            "student": self.student,
            "category": "service",
            "name": "校慶志工",
            "description": "協助校慶接待。",
            "starts_on": self.today - dt.timedelta(days=30),
            "ends_on": self.today - dt.timedelta(days=29),
            "details": {"organiser": "學務處", "hours": "4"},
            "by": self.office,
        }
        args.update(overrides)
        return services.performance_enter(**args)

    def row(self, *, source=PerformanceSource.STUDENT, state=PerformanceState.SAVED, student=None):
        """A performance made directly (no file), for counting."""
        return Performance.objects.create(
            school=self.school,
            student=student or self.student,
            school_year=self.year,
            category="work",
            source=source,
            state=state,
            name="作品",
            description="d",
            starts_on=self.today,
        )


COMPETITION = {"competition_level": "3", "award": "佳作", "participation": "1"}


def _this_roc_year() -> int:
    from portfolio.lib import roc

    return roc.school_year_of(timezone.localdate())
