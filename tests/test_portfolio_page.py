"""The student's portfolio page: every item per school year and term with its state in words,
what may be done with it now (or why not), file previews per type, the windows with days left,
the performances counted and not counted, and a flat number of queries."""

import datetime as dt
import itertools

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portfolio.models import SchoolYear, Window, WindowKind
from records.models import CourseEnrolment, Student
from submissions.models import (
    CourseOutcome,
    OutcomeState,
    Performance,
    PerformanceCategory,
    PerformanceSource,
    PerformanceState,
    StoredFile,
)
from tests.builders.portfolio import World, student_client

PORTFOLIO = reverse("outcomes:portfolio")
MIMES = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "png": "image/png",
    "mp3": "audio/mpeg",
    "mp4": "video/mp4",
}


@pytest.fixture
def world(school, storage_dir):
    world = World(school)
    world.policy.outcome_upload_cap_per_term = 6
    world.policy.save()
    return world


@pytest.fixture
def alice(world, make_member):
    with time_machine.travel(world.inside, tick=False):
        yield student_client(world, make_member)


_keys = itertools.count()


def stored(world, extension="pdf", name=None, size=2048):
    return StoredFile.objects.create(
        school=world.school,
        student=world.student,
        storage_key=f"{next(_keys):032x}.{extension}",
        display_name=name or f"file.{extension}",
        extension=extension,
        mime=MIMES[extension],
        size=size,
        sha256="0" * 64,
    )


def outcome(world, *, title="t", state=OutcomeState.SUBMITTED, document="pdf", media=None, **kw):
    return CourseOutcome.objects.create(
        school=world.school,
        student=world.student,
        enrolment=kw.pop("enrolment", world.enrolment),
        title=title,
        description=kw.pop("description", "d"),
        document=stored(world, document) if document else None,
        media=stored(world, media) if media else None,
        state=state,
        **kw,
    )


def performance(world, *, name="p", source=PerformanceSource.STUDENT, **kw):
    return Performance.objects.create(
        school=world.school,
        student=world.student,
        school_year=kw.pop("school_year", world.term1.school_year),
        category=kw.pop("category", PerformanceCategory.COMPETITION),
        source=source,
        name=name,
        **kw,
    )


def performance_window(world, starts_at, days=10):
    return Window.objects.create(
        school=world.school,
        term=world.term1,
        kind=WindowKind.PERFORMANCE_UPLOAD,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(days=days),
    )


def page_of(client) -> str:
    response = client.get(PORTFOLIO)
    assert response.status_code == 200
    return response.content.decode()


# --- states, reasons and actions ----------------------------------------------------------------


def test_every_state_is_shown_in_words_with_the_rejection_reason(world, alice):
    draft = outcome(world, title="My draft", state=OutcomeState.DRAFT)
    outcome(world, title="Sent", state=OutcomeState.SUBMITTED)
    outcome(world, title="Done", state=OutcomeState.CERTIFIED)
    outcome(
        world,
        title="Bounced",
        state=OutcomeState.REJECTED,
        rejection_reason="This is from another course.",
    )
    gone = outcome(world, title="Gone", state=OutcomeState.WITHDRAWN)
    page = page_of(alice)
    for text in ("Draft", "Awaiting certification", "Certified", "Rejected"):
        assert f">{text}</span>" in page
    assert "Rejected by your teacher. Reason:</strong> This is from another course." in page
    # Withdrawn ones are kept apart, collapsed.
    assert "<summary>1 withdrawn outcome</summary>" in page
    assert page.index("<summary>1 withdrawn") < page.index(f'id="outcome-{gone.pk}"')
    assert "4 of 6 used this term" in page
    assert reverse("outcomes:submit", kwargs={"pk": draft.pk}) in page
    assert "your teacher does not see it until you send it" in page


def test_actions_allowed_now_and_the_reason_for_the_others(world, alice):
    certified = outcome(world, state=OutcomeState.CERTIFIED)
    submitted = outcome(world, state=OutcomeState.SUBMITTED)
    rejected = outcome(world, state=OutcomeState.REJECTED, rejection_reason="r")
    page = page_of(alice)
    for name in ("edit", "replace", "withdraw"):
        assert reverse(f"outcomes:{name}", kwargs={"pk": submitted.pk}) in page
        assert reverse(f"outcomes:{name}", kwargs={"pk": rejected.pk}) in page
        assert reverse(f"outcomes:{name}", kwargs={"pk": certified.pk}) not in page
    assert reverse("outcomes:submit", kwargs={"pk": submitted.pk}) not in page
    assert "Send for certification again" in page
    assert "Certified by your teacher: it can no longer be changed" in page


def test_after_the_window_the_page_says_why_nothing_can_be_changed(world, make_member):
    submitted = outcome(world)
    with time_machine.travel(world.closes + dt.timedelta(days=1), tick=False):
        page = page_of(student_client(world, make_member))
    assert reverse("outcomes:edit", kwargs={"pk": submitted.pk}) not in page
    assert "The outcome-upload window for this term is over" in page
    assert reverse("outcomes:add") not in page


# --- previews -------------------------------------------------------------------------------


def test_files_preview_by_type_with_a_download_link(world, alice):
    with_image = outcome(world, title="Poster", document="png", media="mp4")
    with_pdf = outcome(world, title="Report", document="pdf", media="mp3")
    jpg = outcome(world, title="Photo & more", document="jpg")
    page = page_of(alice)

    def inline(f):
        return reverse("files:inline", kwargs={"pk": f.pk})

    def download(f):
        return reverse("files:download", kwargs={"pk": f.pk})

    assert f'<img src="{inline(with_image.document)}" alt="Poster" loading="lazy">' in page
    assert f'<img src="{inline(jpg.document)}" alt="Photo &amp; more"' in page
    assert f'<video controls preload="none" playsinline src="{inline(with_image.media)}"' in page
    assert (
        f'<iframe src="{inline(with_pdf.document)}" title="PDF preview: file.pdf" loading="lazy">'
    ) in page
    assert f'<audio controls preload="none" src="{inline(with_pdf.media)}"' in page
    for item in (with_image, with_pdf):
        for f in (item.document, item.media):
            assert f'<a href="{download(f)}">Download {f.display_name} (2.0\xa0KB)</a>' in page


# --- windows ---------------------------------------------------------------------------------


def test_windows_show_days_left_or_the_next_dates(world, alice):
    next_opens = world.inside + dt.timedelta(days=30)
    performance_window(world, next_opens)
    page = page_of(alice)
    assert "Course outcomes, " in page and "Open: 18 days left" in page
    assert "Diverse performances, " in page and "Not open yet" in page
    assert (
        next_opens.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("opens %Y-%m-%d %H:%M")
        in page
    )
    assert reverse("outcomes:add") in page
    assert reverse("performances:add") not in page


def test_an_extension_in_force_is_shown(world, make_member, admin):
    after = world.closes + dt.timedelta(days=2)
    world.student.window_extensions.create(
        school=world.school,
        term=world.term1,
        kind=WindowKind.OUTCOME_UPLOAD,
        starts_at=after - dt.timedelta(hours=1),
        ends_at=after + dt.timedelta(days=5),
        reason="住院治療",
        granted_by=admin.user,
    )
    with time_machine.travel(after, tick=False):
        page = page_of(student_client(world, make_member))
    assert "Open: 5 days left" in page
    assert "Extended for you by the registry" in page


def test_with_no_window_the_page_says_so(world, make_member):
    world.window.delete()
    with time_machine.travel(world.inside, tick=False):
        page = page_of(student_client(world, make_member))
    assert "No upload window is open or scheduled for you now." in page


# --- performances ----------------------------------------------------------------------------


def test_performances_counted_and_not_counted(world, alice):
    performance_window(world, world.inside - dt.timedelta(days=1))
    own = performance(world, name="Science fair")
    performance(world, name="Class leader", source=PerformanceSource.SCHOOL)
    performance(world, name="Outside award", source=PerformanceSource.OUTSIDE)
    performance(world, name="Dropped", state=PerformanceState.WITHDRAWN)
    page = page_of(alice)
    assert "1 of 10 used this year; items entered by the school do not count." in page
    assert ">Entered by the school</span>" in page
    assert ">Entered for an outside body</span>" in page
    assert "<summary>1 withdrawn performance</summary>" in page
    assert reverse("performances:edit", kwargs={"pk": own.pk}) in page
    assert reverse("performances:withdraw", kwargs={"pk": own.pk}) in page
    assert page.count('href="/portfolio/performances/') == 3  # add, edit, withdraw: own only
    assert "Entered by the school: it does not count toward your limit." in page
    assert reverse("performances:add") in page


# --- the page as a whole -----------------------------------------------------------------------


def test_empty_portfolio_teaches_and_offers_the_zip(world, alice):
    page = page_of(alice)
    assert "Nothing here yet." in page
    assert "No course outcome for this term yet. The upload window is open" in page
    assert "No diverse performance this year yet." in page
    assert f'<form method="post" action="{reverse("portfolioexport:start")}">' in page
    assert "Download my whole portfolio (zip)" in page


def test_years_in_roc_numbering_newest_first(world, alice):
    year = world.term1.school_year
    older = SchoolYear.objects.create(school=world.school, roc_year=year.roc_year - 1)
    performance(world, name="Old one", school_year=older)
    page = page_of(alice)
    newer_heading = f">{year.roc_year} school year</h2>"
    older_heading = f">{older.roc_year} school year</h2>"
    assert page.index(newer_heading) < page.index(older_heading)


def add_items(world, n):
    """n items: half outcomes in every state and file type, half performances."""
    states = list(OutcomeState)
    files = [("pdf", None), ("png", "mp4"), ("jpg", "mp3"), (None, "mp3")]
    sources = list(PerformanceSource)
    for i in range(n // 2):
        document, media = files[i % len(files)]
        outcome(
            world,
            title=f"o{i}",
            state=states[i % len(states)],
            document=document,
            media=media,
            rejection_reason="r",
        )
        performance(
            world,
            name=f"p{i}",
            source=sources[i % len(sources)],
            document=stored(world, "pdf"),
            state=PerformanceState.WITHDRAWN if i % 5 == 0 else PerformanceState.SAVED,
        )


def count_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        page_of(client)
    return len(queries.captured_queries)


def test_queries_do_not_grow_with_the_items(world, alice, django_assert_max_num_queries):
    performance_window(world, world.inside - dt.timedelta(days=1))
    add_items(world, 6)
    page_of(alice)  # the school's calendar read once, then kept (portfolio.calendar)
    few = count_queries(alice)
    add_items(world, 54)
    assert CourseOutcome.objects.count() + Performance.objects.count() == 60
    with django_assert_max_num_queries(14):
        page_of(alice)
    assert count_queries(alice) == few


def test_at_the_cap_adding_is_not_offered_and_the_page_says_why(world, alice):
    world.policy.outcome_upload_cap_per_term = 2
    world.policy.save()
    outcome(world)
    outcome(world, state=OutcomeState.DRAFT)
    page = page_of(alice)
    assert f'href="{reverse("outcomes:add")}"' not in page
    assert "2 of 2 used this term</span>: every place is used; withdraw an outcome" in page


def test_only_the_students_own_items_are_shown(world, alice, other_school):
    classmate = Student.objects.create(
        school=world.school, student_number="S2", name="乙", school_class=world.klass
    )
    theirs = CourseEnrolment.objects.create(
        school=world.school, student=classmate, course=world.enrolment.course
    )
    world.row(theirs)
    CourseOutcome.objects.filter(student=classmate).update(title="Classmate work")
    Performance.objects.create(
        school=world.school,
        student=classmate,
        school_year=world.term1.school_year,
        category=PerformanceCategory.SERVICE,
        name="Classmate service",
    )
    World(other_school).row()
    page = page_of(alice)
    assert "Classmate" not in page
    assert "Nothing here yet." in page
