"""The certification flows' world (``FlowWorld``): tests/builders/certification.py's
CertWorld with its certification window open around the real clock (a live server's),
students who sign in with accounts of their own, outcomes handed in with real files through
the upload service and decided through the certification services, and the offices that
follow them (registry, working group)."""

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import Membership, Role
from certification.services import RejectionReason, outcome_certify, outcome_reject
from records.models import CourseEnrolment, Student
from submissions.models import CourseOutcome
from submissions.services.outcomes import outcome_upload
from tests.builders.certification import CertWorld
from tests.builders.files import make_pdf
from tests.builders.people import acting


class FlowWorld(CertWorld):
    """Teacher Tan's Physics (term 1, class 101), its certification window open from
    yesterday for five days."""

    def __init__(self, school, make_member):
        super().__init__(school, make_member)
        now = timezone.now()
        self.cert_window.starts_at = now - dt.timedelta(days=1)
        self.cert_window.ends_at = now + dt.timedelta(days=5)
        self.cert_window.save()

    def member(self, role: str, username: str, name: str = "") -> Membership:
        return self.make_member(self.school, role, username=username, name=name or username)

    def pupil(self, name: str, seat: int, username: str) -> Student:
        """A student of class 101 at ``seat`` who signs in as ``username``."""
        student = self.student_in(name, seat=seat)
        student.user = self.member(Role.STUDENT, username, name).user
        student.save(update_fields=["user"])
        return student

    def hand_in(
        self,
        student: Student,
        title: str,
        report: bytes | None = None,
        filename: str = "報告.pdf",
    ) -> CourseOutcome:
        """``student`` hands in a PDF for Physics during the upload window, through the
        upload service (the file stored, its sha256 taken)."""
        enrolment, _ = CourseEnrolment.objects.get_or_create(
            school=self.school, student=student, course=self.course
        )
        return outcome_upload(
            student=student,
            enrolment=enrolment,
            title=title,
            description="測量重力加速度。",
            document=SimpleUploadedFile(
                filename, report if report is not None else make_pdf(), "application/pdf"
            ),
            media=None,
            by=None,
            now=self.inside,
        )

    def certify(self, outcome: CourseOutcome) -> CourseOutcome:
        """Teacher Tan certifies ``outcome`` now."""
        return outcome_certify(outcome=outcome, by=acting(self.teacher), seen_at=outcome.updated_at)

    def reject(
        self, outcome: CourseOutcome, reason: str = RejectionReason.FILE_UNUSABLE, text: str = ""
    ) -> CourseOutcome:
        """Teacher Tan sends ``outcome`` back now, for ``reason`` (and ``text``)."""
        return outcome_reject(
            outcome=outcome,
            reason_code=reason,
            reason_text=text,
            by=acting(self.teacher),
            seen_at=outcome.updated_at,
        )
