"""Rows for the offices' record pages (records/urls/staff.py).

Lists and blank forms give a member of another school, acting in the same role, their own
(empty) school: 200. This school's objects give them 404. A consultant actor here is a
fresh member consulting no class, so a consultation record is not theirs: 404.
"""

import datetime as dt

from django.utils import timezone

from accounts.models import Division, Role
from records.models import ClubMembership
from records.services import staff as services
from records.services import students as student_services
from tests.matrix import only

R = Role


def build(world, make_member):
    school = world["school"]
    term = world["term"]
    year = term.school_year
    school_class = student_services.school_class_create(
        school=school,
        school_year=year,
        name="SR1",
        grade=10,
        division=Division.DAY,
        homeroom_teacher=None,
        by=None,
    )
    student = student_services.student_create(
        school=school,
        student_number="SR0001",
        name="矩陣學務",
        school_class=school_class,
        seat_number=1,
        user=None,
        by=None,
    )
    consultant = make_member(school, R.CONSULTANT, username="sr-consultant").user
    counsellor = make_member(school, R.COUNSELLOR, username="sr-counsellor").user
    services.school_class_consultant_add(school_class=school_class, user=consultant, by=None)
    club = services.club_create(school=school, school_year=year, name="矩陣社", by=None)
    world.update(
        {
            "sr_student": student,
            "sr_cadre": services.cadre_post_create(
                school=school,
                student=student,
                term=term,
                unit="SR1",
                title="班長",
                level="2",
                starts_on=term.starts_on,
                ends_on=term.ends_on,
                by=None,
            ),
            "sr_club": club,
            "sr_membership": services.club_member_add(
                club=club, student=student, term=term, by=None
            ),
            "sr_consultation": services.consultation_create(
                school=school,
                student=student,
                consultant=consultant,
                held_at=timezone.now() - dt.timedelta(days=1),
                place="輔導室",
                content="選課",
                by=None,
            ),
            "sr_career": services.career_record_create(
                school=school,
                student=student,
                counsellor=counsellor,
                held_on=timezone.localdate() - dt.timedelta(days=1),
                clusters=["01"],
                content="資訊學群",
                by=None,
            ),
            "sr_change": services.enrolment_change_create(
                school=school,
                student=student,
                kind="transfer_in",
                effective_on=term.starts_on,
                by=None,
            ),
        }
    )
    assert ClubMembership.objects.filter(club=club).exists()


def _pk(key):
    return lambda world: {"pk": world[key].pk}


def _attendance(world):
    return {"term_pk": world["term"].pk, "student_pk": world["sr_student"].pk}


def _page(role):
    """A list or a blank form of ``role``."""
    return only({role: 200}, outsider=200, outsider_role=role)


def _object(role, status=200, other_division=None):
    """A page of one of this school's objects, for ``role``."""
    return only({role: status}, outsider=404, outsider_role=role, other_division=other_division)


def _post(role, status=302, other_division=None):
    return only({role: status}, outsider=404, outsider_role=role, other_division=other_division)


def _record(role):
    """A page of one day-division student's record: the other division's office gets 404."""
    return _object(role, other_division=404)


def _record_post(role):
    return _post(role, other_division=404)


AFFAIRS, CONSULTANT, COUNSELLOR, REGISTRY = (
    R.STUDENT_AFFAIRS,
    R.CONSULTANT,
    R.COUNSELLOR,
    R.REGISTRY,
)

ROWS = {
    # Student affairs
    "staffrecords:cadre_list": ("get", None, _page(AFFAIRS)),
    "staffrecords:cadre_add": ("get", None, _page(AFFAIRS)),
    "staffrecords:cadre_edit": ("get", _pk("sr_cadre"), _record(AFFAIRS)),
    "staffrecords:cadre_delete": ("post", _pk("sr_cadre"), _record_post(AFFAIRS)),
    "staffrecords:club_list": ("get", None, _page(AFFAIRS)),
    "staffrecords:club_add": ("get", None, _page(AFFAIRS)),
    "staffrecords:club_detail": ("get", _pk("sr_club"), _object(AFFAIRS)),
    "staffrecords:club_edit": ("get", _pk("sr_club"), _object(AFFAIRS)),
    "staffrecords:club_delete": ("post", _pk("sr_club"), _post(AFFAIRS)),
    "staffrecords:club_copy": ("post", _pk("sr_club"), _post(AFFAIRS)),
    "staffrecords:club_member_delete": ("post", _pk("sr_membership"), _record_post(AFFAIRS)),
    "staffrecords:attendance_list": ("get", None, _page(AFFAIRS)),
    "staffrecords:attendance_edit": ("get", _attendance, _record(AFFAIRS)),
    # Course consultants
    "staffrecords:consultation_list": ("get", None, _page(CONSULTANT)),
    "staffrecords:consultation_students": ("get", None, _page(CONSULTANT)),
    "staffrecords:consultation_add": ("get", None, _page(CONSULTANT)),
    "staffrecords:consultation_edit": (
        "get",
        _pk("sr_consultation"),
        _object(CONSULTANT, status=404),
    ),
    "staffrecords:consultation_delete": (
        "post",
        _pk("sr_consultation"),
        _post(CONSULTANT, status=404),
    ),
    # Counselling office
    "staffrecords:career_list": ("get", None, _page(COUNSELLOR)),
    "staffrecords:career_add": ("get", None, _page(COUNSELLOR)),
    "staffrecords:career_edit": ("get", _pk("sr_career"), _record(COUNSELLOR)),
    "staffrecords:career_delete": ("post", _pk("sr_career"), _record_post(COUNSELLOR)),
    # Registry
    "staffrecords:change_list": ("get", None, _page(REGISTRY)),
    "staffrecords:change_find": ("get", None, _page(REGISTRY)),
    "staffrecords:change_add": ("get", None, _page(REGISTRY)),
    "staffrecords:change_edit": ("get", _pk("sr_change"), _record(REGISTRY)),
    "staffrecords:change_delete": ("post", _pk("sr_change"), _record_post(REGISTRY)),
    "staffrecords:student_changes": ("get", _pk("sr_student"), _record(REGISTRY)),
    # Homeroom teachers: a fresh one has no class this year; the page says so.
    "staffrecords:roster": ("get", None, _page(R.HOMEROOM)),
}
