"""Teachers, courses and outcomes awaiting certification (CertWorld), and acting contexts."""

import datetime as dt

from accounts.models import Role
from portfolio.models import Window, WindowKind
from records.models import CourseEnrolment, Student
from submissions.models import OutcomeState
from tests.builders.portfolio import World, at


class CertWorld(World):
    """World's grade-10 student in Physics (term 1), taught by ``teacher``, with a
    certification window after the upload window."""

    def __init__(self, school, make_member):
        super().__init__(school)
        self.make_member = make_member
        self.course = self.enrolment.course
        self.teacher = make_member(school, Role.TEACHER, name="Teacher Tan")
        self.course.teachers.add(self.teacher.user)
        self.cert_opens = at(self.term1.closing_day + dt.timedelta(days=5), 8)
        self.cert_closes = at(self.term1.closing_day + dt.timedelta(days=35), 17)
        self.cert_window = Window.objects.create(
            school=school,
            term=self.term1,
            kind=WindowKind.CERTIFICATION,
            starts_at=self.cert_opens,
            ends_at=self.cert_closes,
        )
        self.now = self.cert_opens + dt.timedelta(days=1)

    def student_in(self, name, klass=None, seat=1):
        student = Student.objects.create(
            school=self.school,
            student_number=f"S-{name}",
            name=name,
            school_class=klass or self.klass,
            seat_number=seat,
        )
        return student

    def outcome_of(self, student, state=OutcomeState.SUBMITTED, course=None):
        enrolment, _ = CourseEnrolment.objects.get_or_create(
            school=self.school, student=student, course=course or self.course
        )
        return self.row(enrolment, state=state)
