"""Rows of the permission matrix, one module per area; each module defines

- ``ROWS``: {url name: (method, kwargs builder or None, {actor: status})}, built with the
  helpers below; an ``OUTSIDER_ROLE`` key in a row's expectations names the role the
  user of another school acts in (default: school administrator);
- optionally ``build(world, make_member)``, adding the area's objects of this school to
  the ``world`` dict that kwargs builders read.

Actors: ``anon``, every role of this school, ``other_division`` (a member of this school's
continuing-education division, acting in the row's ``OUTSIDER_ROLE``), ``outsider`` (a user of
another school). The objects the rows open belong to day-division students, so a page about
one student's records gives ``other_division`` 404 (``only(..., other_division=404)``); where a
row says nothing, the other division answers as the same role of the day division does.
"""

from accounts.models import Role

ROLES = [r.value for r in Role]
OTHER_DIVISION = "other_division"
ACTORS = ["anon", *ROLES, OTHER_DIVISION, "outsider"]
OUTSIDER_ROLE = "_outsider_role"


def only(
    allowed: dict[str, int],
    *,
    outsider: int,
    outsider_role: str = Role.SCHOOL_ADMIN,
    others: int = 403,
    anon: int = 302,
    other_division: int | None = None,
) -> dict[str, int | str]:
    """``allowed`` roles get their status, other roles ``others``."""
    expected: dict[str, int | str] = dict.fromkeys(ROLES, others)
    expected.update(allowed)
    expected.update({"anon": anon, "outsider": outsider, OUTSIDER_ROLE: outsider_role})
    if other_division is not None:
        expected[OTHER_DIVISION] = other_division
    return expected


def expected_for(actor: str, expected: dict[str, int | str]) -> int:
    """The status ``actor`` must get; the other division defaults to its role's."""
    if actor == OTHER_DIVISION and OTHER_DIVISION not in expected:
        return int(expected[expected.get(OUTSIDER_ROLE, Role.SCHOOL_ADMIN)])
    return int(expected[actor])


def admin_only(*, outsider: int) -> dict[str, int | str]:
    return only({Role.SCHOOL_ADMIN: 200}, outsider=outsider)


def everyone(status: int, anon: int | None = None) -> dict[str, int | str]:
    expected: dict[str, int | str] = dict.fromkeys(ACTORS, status)
    expected["anon"] = status if anon is None else anon
    return expected


def outcome_for_matrix(world, *, key: str, state: str, teacher=None, data: bytes = b""):
    """A grade-10 day-division student of this school, with a credited course (taught by
    ``teacher`` when given) and a course outcome in ``state`` whose document row is named by
    ``key``; the document's bytes are stored only when ``data`` is given."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from accounts.models import Division
    from records.models import Course, CourseEnrolment, SchoolClass, Student
    from submissions.models import CourseOutcome, StoredFile

    school, term = world["school"], world["term"]
    letter = key[0].upper()
    school_class = SchoolClass.objects.create(
        school=school,
        school_year=term.school_year,
        name=f"{letter}01",
        grade=10,
        division=Division.DAY,
    )
    student = Student.objects.create(
        school=school, student_number=f"{letter}0001", name="矩陣生", school_class=school_class
    )
    course = Course.objects.create(
        school=school, term=term, code=letter * 23, name="物理", grade=10, credits=2
    )
    if teacher is not None:
        course.teachers.add(teacher)
    enrolment = CourseEnrolment.objects.create(school=school, student=student, course=course)
    stored = StoredFile.objects.create(
        school=school,
        student=student,
        storage_key=key.ljust(32, "0") + ".pdf",
        display_name="成果.pdf",
        extension="pdf",
        mime="application/pdf",
        size=len(data) or 1000,
        sha256="0" * 64,
    )
    if data and not default_storage.exists(stored.storage_path):
        default_storage.save(stored.storage_path, ContentFile(data))
    return CourseOutcome.objects.create(
        school=school,
        student=student,
        enrolment=enrolment,
        title="成果",
        description="簡述",
        document=stored,
        state=state,
    )
