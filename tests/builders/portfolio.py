"""A student with credited courses, an upload window and a policy (World), outcomes, and files served."""

import datetime as dt
import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Role
from portfolio.models import SchoolPolicy, Term, Window, WindowKind
from records.models import Course, CourseEnrolment, SchoolClass, Student
from submissions.models import CourseOutcome, OutcomeState, StoredFile
from submissions.services.outcomes import outcome_upload
from tests.builders.files import make_pdf
from tests.builders.people import client_for, english


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=TAIPEI)


def pdf(name: str = "report.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, make_pdf(), content_type="application/pdf")


class World:
    """A grade-10 student taking a credited course in term 1, an upload window after it."""

    def __init__(self, school):
        self.school = school
        self.term1, self.term2 = Term.objects.filter(school=school).order_by("number")
        year = self.term1.school_year
        self.policy = SchoolPolicy.objects.get(school_year=year)
        self.policy.outcome_upload_cap_per_term = 2
        self.policy.save()
        self.klass = SchoolClass.objects.create(
            school=school, school_year=year, name="101", grade=10
        )
        self.student = Student.objects.create(
            school=school, student_number="S1", name="甲", school_class=self.klass
        )
        self.enrolment = self.enrol(self.student, self.term1, "Physics", credits=2)
        self.opens = at(self.term1.closing_day + dt.timedelta(days=1), 8)
        self.closes = at(self.term1.closing_day + dt.timedelta(days=20), 17)
        self.window = Window.objects.create(
            school=school,
            term=self.term1,
            kind=WindowKind.OUTCOME_UPLOAD,
            starts_at=self.opens,
            ends_at=self.closes,
        )
        self.inside = self.opens + dt.timedelta(days=2)

    def enrol(self, student, term, name, *, credits=2, code=None):
        course = Course.objects.create(
            school=self.school,
            term=term,
            code=code or f"1130{name[:3].upper()}{term.number}".ljust(23, "0")[:23],
            name=name,
            grade=10,
            credits=credits,
        )
        return CourseEnrolment.objects.create(school=self.school, student=student, course=course)

    def upload(self, **overrides):
        args = {
            "student": self.student,
            "enrolment": self.enrolment,
            "title": "Lab report",
            "description": "Measuring g with a pendulum.",
            "document": pdf(),
            "media": None,
            "by": None,
            "now": self.inside,
        }
        args.update(overrides)
        return outcome_upload(**args)

    def row(self, enrolment=None, state=OutcomeState.SUBMITTED):
        """An outcome made directly (no file on disk), for counting."""
        enrolment = enrolment or self.enrolment
        n = StoredFile.objects.count()
        stored = StoredFile.objects.create(
            school=self.school,
            student=enrolment.student,
            storage_key=f"{n:032x}.pdf",
            display_name="x.pdf",
            extension="pdf",
            mime="application/pdf",
            size=1,
            sha256="0" * 64,
        )
        return CourseOutcome.objects.create(
            school=self.school,
            student=enrolment.student,
            enrolment=enrolment,
            title="t",
            description="d",
            document=stored,
            state=state,
        )


class Files:
    """A grade-10 student (with an account) in a day class led by a homeroom teacher,
    taking a course taught by a teacher, with files stored for them."""

    def __init__(self, school, make_member):
        self.school, self.make_member = school, make_member
        term = Term.objects.filter(school=school).order_by("number").first()
        self.homeroom = make_member(school, Role.HOMEROOM)
        self.klass = SchoolClass.objects.create(
            school=school,
            school_year=term.school_year,
            name="101",
            grade=10,
            homeroom_teacher=self.homeroom.user,
        )
        self.owner = make_member(school, Role.STUDENT)
        self.student = Student.objects.create(
            school=school,
            user=self.owner.user,
            student_number="S1",
            name="甲",
            school_class=self.klass,
        )
        self.teacher = make_member(school, Role.TEACHER)
        course = Course.objects.create(
            school=school, term=term, code="1" * 23, name="Physics", grade=10, credits=2
        )
        course.teachers.add(self.teacher.user)
        self.enrolment = CourseEnrolment.objects.create(
            school=school, student=self.student, course=course
        )

    def store(self, data: bytes, name="報告.pdf", mime="application/pdf") -> StoredFile:
        n = StoredFile.objects.count()
        extension = name.rpartition(".")[2]
        stored = StoredFile.objects.create(
            school=self.school,
            student=self.student,
            storage_key=f"{n:032x}.{extension}",
            display_name=name,
            extension=extension,
            mime=mime,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        default_storage.save(stored.storage_path, ContentFile(data))
        return stored

    def outcome(self, stored: StoredFile, state=OutcomeState.SUBMITTED) -> CourseOutcome:
        return CourseOutcome.objects.create(
            school=self.school,
            student=self.student,
            enrolment=self.enrolment,
            title="Lab report",
            description="d",
            document=stored,
            state=state,
        )


def inline(stored):
    return reverse("files:inline", kwargs={"pk": stored.pk})


def student_client(world, make_member, student=None):
    student = student or world.student
    member = make_member(world.school, Role.STUDENT)
    student.user = member.user
    student.save()
    return english(client_for(member))


TAIPEI = dt.timezone(dt.timedelta(hours=8))
