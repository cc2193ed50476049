"""The portfolio page's window lookups from the school's calendar and the student's
extensions (``WindowBook``) answer exactly as the database lookups the services enforce with
(``upload_window``, ``live_term_ids``), at every moment around the windows' edges."""

import datetime as dt

import pytest

from portfolio import calendar
from portfolio.models import School, Window, WindowKind
from records.models import Student
from submissions.models import WindowExtension
from submissions.services.outcomes import live_term_ids
from submissions.services.windows import WindowBook, upload_window
from tests.builders.portfolio import World


@pytest.fixture
def w(school):
    world = World(school)
    Window.objects.create(
        school=school, term=world.term1, kind=WindowKind.OUTCOME_UPLOAD, grade=11,
        starts_at=world.opens - dt.timedelta(days=3), ends_at=world.closes + dt.timedelta(days=9),
    )  # fmt: skip
    Window.objects.create(
        school=school, term=world.term2, kind=WindowKind.PERFORMANCE_UPLOAD,
        starts_at=world.opens + dt.timedelta(days=30), ends_at=world.closes + dt.timedelta(days=60),
    )  # fmt: skip
    return world


def _moments(w):
    edges = [w.opens, w.closes, w.closes + dt.timedelta(days=4), w.closes + dt.timedelta(days=9)]
    for edge in edges:
        for offset in (-1, 0, 1):
            yield edge + dt.timedelta(seconds=offset)
    yield w.opens + dt.timedelta(days=45)


def _same(a, b) -> bool:
    return (
        a.open_window == b.open_window
        and a.next_window == b.next_window
        and a.extension == b.extension
        and a.is_open == b.is_open
    )


def test_the_book_answers_as_the_database(w, make_member):
    granter = make_member(w.school, "registry").user
    WindowExtension.objects.create(
        school=w.school, student=w.student, term=w.term1, kind=WindowKind.OUTCOME_UPLOAD,
        starts_at=w.closes - dt.timedelta(days=1), ends_at=w.closes + dt.timedelta(days=4),
        reason="病假", granted_by=granter,
    )  # fmt: skip
    student = Student.objects.select_related("school").get(pk=w.student.pk)
    calendar.forget()
    checked = 0
    for now in _moments(w):
        book = WindowBook(student, now)
        for kind in (WindowKind.OUTCOME_UPLOAD, WindowKind.PERFORMANCE_UPLOAD):
            ids = [w.term1.pk, w.term2.pk]
            assert book.live_term_ids(kind, ids) == live_term_ids(student, kind, ids, now)
            for terms in ([w.term1], [w.term2], [w.term1, w.term2]):
                for grade in (None, 10, 11):
                    args = {"kind": kind, "student": student, "terms": terms, "grade": grade}
                    assert _same(
                        upload_window(**args, now=now, book=book), upload_window(**args, now=now)
                    ), (now, kind, terms, grade)
                    checked += 1
    assert checked > 100


def test_a_window_moved_shows_in_the_next_book(w):
    student = Student.objects.select_related("school").get(pk=w.student.pk)
    now = w.inside
    assert (
        WindowBook(student, now)
        .upload_window(kind=WindowKind.OUTCOME_UPLOAD, terms=w.term1, grade=10)
        .is_open
    )
    window = Window.objects.get(pk=w.window.pk)
    window.ends_at = now - dt.timedelta(minutes=1)
    window.save()
    student.school = School.objects.get(pk=w.school.pk)  # the next request's row
    assert (
        not WindowBook(student, now)
        .upload_window(kind=WindowKind.OUTCOME_UPLOAD, terms=w.term1, grade=10)
        .is_open
    )
