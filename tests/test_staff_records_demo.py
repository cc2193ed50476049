"""The demo's office records: what it promises, and that running it twice adds nothing."""

from django.core.management import call_command

from portfolio.models import AuditLog, School
from records.models import (
    AttendanceSummary,
    CadrePost,
    CareerExploration,
    Club,
    ClubMembership,
    Consultation,
    SchoolClass,
    Student,
    StudentStatus,
)


def test_demo_records_are_complete_and_idempotent(db):
    call_command("seed_demo", verbosity=0)
    school = School.objects.get(code="999001")
    students = Student.objects.filter(school=school)
    assert students.count() == 90
    for school_class in SchoolClass.objects.filter(school=school):
        assert CadrePost.objects.filter(student__school_class=school_class).exists()
        assert school_class.consultants.filter(username="consultant").exists()
    assert 2 <= Club.objects.filter(school=school).count() <= 3
    assert ClubMembership.objects.filter(school=school).count() >= 12
    with_attendance = AttendanceSummary.objects.filter(school=school, term__number=1)
    assert with_attendance.values("student").distinct().count() == 90
    assert Consultation.objects.filter(school=school).values("student").distinct().count() == 90
    assert (
        CareerExploration.objects.filter(school=school).values("student").distinct().count() == 90
    )
    assert set(students.values_list("status", flat=True)) == {StudentStatus.ENROLLED}
    audits = AuditLog.objects.count()
    call_command("seed_demo", verbosity=0)
    assert AuditLog.objects.count() == audits
