"""Stored files served to those who may open them: bytes, headers, ranges, memory, audit."""

import hashlib
import tracemalloc
from urllib.parse import quote

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from accounts.models import Division, Role
from portfolio.models import AuditLog
from records.models import SchoolClass, Student
from submissions import serving
from submissions.access import files_visible_to, may_view_file
from submissions.models import OutcomeState
from submissions.serving import RangeNotSatisfiable, byte_range
from tests.builders.files import make_mp3, make_pdf, make_png
from tests.builders.people import client_for
from tests.builders.portfolio import Files, inline

MB = 1024 * 1024


@pytest.fixture
def files(school, make_member):
    return Files(school, make_member)


@pytest.fixture
def pdf(files):
    stored = files.store(make_pdf(pages=2))
    files.outcome(stored)
    return stored


def download(stored):
    return reverse("files:download", kwargs={"pk": stored.pk})


def body(response) -> bytes:
    return b"".join(response.streaming_content)


# --- the owner ------------------------------------------------------------------------------


def test_owner_downloads_the_exact_bytes_as_an_attachment(files, pdf):
    response = client_for(files.owner).get(download(pdf))
    assert response.status_code == 200
    assert body(response) == make_pdf(pages=2)
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Length"] == str(pdf.size)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Disposition"] == "attachment; filename*=utf-8''" + quote("報告.pdf")
    assert response["Accept-Ranges"] == "bytes"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_an_ascii_name_is_quoted_plainly(files):
    stored = files.store(make_pdf(), name='lab "1".pdf')
    response = client_for(files.owner).get(download(stored))
    assert response["Content-Disposition"] == 'attachment; filename="lab \\"1\\".pdf"'
    body(response)


def test_inline_image_is_sandboxed_and_may_be_framed_by_our_pages(files):
    png = make_png()
    stored = files.store(png, name="poster.png", mime="image/png")
    response = client_for(files.owner).get(inline(stored))
    assert response.status_code == 200
    assert body(response) == png
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'inline; filename="poster.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    csp = response["Content-Security-Policy"]
    assert csp == (
        "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; "
        "frame-ancestors 'self'; sandbox"
    )
    assert response["X-Frame-Options"] == "SAMEORIGIN"


def test_inline_pdf_is_sandboxed_too(files, pdf):
    response = client_for(files.owner).get(inline(pdf))
    assert response["Content-Security-Policy"] == serving.INLINE_CSP
    assert response["Content-Security-Policy"].endswith("; sandbox")
    assert response["Content-Disposition"].startswith("inline; ")
    body(response)


def test_students_own_reads_are_not_audited(files, pdf):
    client = client_for(files.owner)
    body(client.get(download(pdf)))
    body(client.get(inline(pdf)))
    assert not AuditLog.objects.filter(action="file.view").exists()


def test_only_get(files, pdf):
    assert client_for(files.owner).post(download(pdf)).status_code == 405


def test_a_missing_file_is_404(files, pdf):
    default_storage.delete(pdf.storage_path)
    assert client_for(files.owner).get(download(pdf)).status_code == 404


# --- who else may open it -------------------------------------------------------------------


def test_another_student_of_the_school_gets_404(files, pdf, make_member, school):
    other = make_member(school, Role.STUDENT)
    Student.objects.create(
        school=school, user=other.user, student_number="S2", name="乙", school_class=files.klass
    )
    client = client_for(other)
    assert client.get(download(pdf)).status_code == 404
    assert client.get(inline(pdf)).status_code == 404


@pytest.mark.parametrize("role", [Role.REGISTRY, Role.STUDENT, Role.TEACHER, Role.HOMEROOM])
def test_another_schools_user_gets_404(pdf, other_school, make_member, role):
    client = client_for(make_member(other_school, role))
    assert client.get(download(pdf)).status_code == 404


def test_the_course_teacher_opens_it_and_the_read_is_audited(files, pdf):
    response = client_for(files.teacher).get(download(pdf))
    assert response.status_code == 200
    assert body(response) == make_pdf(pages=2)
    log = AuditLog.objects.get(action="file.view")
    assert log.actor == files.teacher.user
    assert log.school == files.school
    assert log.target_id == str(pdf.pk)
    assert log.changes == {"student": files.student.pk, "inline": False}


def test_the_teacher_does_not_see_drafts_or_withdrawn_outcomes(files):
    for state in (OutcomeState.DRAFT, OutcomeState.WITHDRAWN):
        stored = files.store(make_pdf())
        files.outcome(stored, state=state)
        assert client_for(files.teacher).get(download(stored)).status_code == 404


def test_a_teacher_of_another_course_gets_404(files, pdf, make_member, school):
    assert client_for(make_member(school, Role.TEACHER)).get(download(pdf)).status_code == 404


def test_the_homeroom_teacher_of_the_class_opens_it(files, pdf):
    response = client_for(files.homeroom).get(inline(pdf))
    assert response.status_code == 200
    body(response)
    assert AuditLog.objects.get(action="file.view").changes["inline"] is True


def test_the_homeroom_teacher_of_another_class_gets_404(files, pdf, make_member, school):
    other = make_member(school, Role.HOMEROOM)
    SchoolClass.objects.create(
        school=school,
        school_year=files.klass.school_year,
        name="102",
        grade=10,
        homeroom_teacher=other.user,
    )
    assert client_for(other).get(download(pdf)).status_code == 404


@pytest.mark.parametrize(
    "role", [Role.REGISTRY, Role.CURRICULUM, Role.STUDENT_AFFAIRS, Role.COUNSELLOR]
)
def test_the_offices_open_it(pdf, make_member, school, role):
    response = client_for(make_member(school, role)).get(download(pdf))
    assert response.status_code == 200
    body(response)


def test_the_continuing_education_registry_does_not_see_a_day_student(pdf, make_member, school):
    member = make_member(school, Role.REGISTRY, division=Division.CONTINUING)
    assert client_for(member).get(download(pdf)).status_code == 404


@pytest.mark.parametrize("role", [Role.SCHOOL_ADMIN, Role.CONSULTANT, Role.WORKING_GROUP])
def test_roles_without_files_are_refused(pdf, make_member, school, role):
    assert client_for(make_member(school, role)).get(download(pdf)).status_code == 403


def test_anonymous_is_sent_to_sign_in(pdf, client):
    assert client.get(download(pdf)).status_code == 302


def test_may_view_file_agrees_with_the_queryset(files, pdf, make_member, school):
    from accounts.acting import ActingContext

    teacher = ActingContext(user=files.teacher.user, membership=files.teacher)
    stranger = make_member(school, Role.TEACHER)
    assert may_view_file(teacher, pdf)
    assert not may_view_file(ActingContext(user=stranger.user, membership=stranger), pdf)
    assert list(files_visible_to(teacher)) == [pdf]


# --- ranges ---------------------------------------------------------------------------------


@pytest.fixture
def mp3(files):
    data = make_mp3(frames=30)
    stored = files.store(data, name="talk.mp3", mime="audio/mpeg")
    return stored, data


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-9", 0, 9), ("bytes=100-", 100, None), ("bytes=-50", -50, None)],
)
def test_a_range_is_answered_with_206(files, mp3, header, start, end):
    stored, data = mp3
    response = client_for(files.owner).get(inline(stored), HTTP_RANGE=header)
    assert response.status_code == 206
    first = start if start >= 0 else len(data) + start
    last = end if end is not None else len(data) - 1
    assert response["Content-Range"] == f"bytes {first}-{last}/{len(data)}"
    assert response["Content-Length"] == str(last - first + 1)
    assert body(response) == data[first : last + 1]
    assert response["Content-Type"] == "audio/mpeg"


def test_a_range_past_the_end_is_416(files, mp3):
    stored, data = mp3
    response = client_for(files.owner).get(inline(stored), HTTP_RANGE=f"bytes={len(data)}-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(data)}"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_several_ranges_or_a_stale_if_range_get_the_whole_file(files, mp3):
    stored, data = mp3
    client = client_for(files.owner)
    several = client.get(inline(stored), HTTP_RANGE="bytes=0-1,5-6")
    assert several.status_code == 200 and body(several) == data
    stale = client.get(inline(stored), HTTP_RANGE="bytes=0-1", HTTP_IF_RANGE='"other"')
    assert stale.status_code == 200 and body(stale) == data
    fresh = client.get(inline(stored), HTTP_RANGE="bytes=0-1", HTTP_IF_RANGE=f'"{stored.sha256}"')
    assert fresh.status_code == 206 and body(fresh) == data[:2]


def test_seeking_is_not_audited_again(files, mp3):
    stored, _ = mp3
    client = client_for(files.homeroom)
    body(client.get(inline(stored), HTTP_RANGE="bytes=0-"))
    body(client.get(inline(stored), HTTP_RANGE="bytes=500-"))
    body(client.get(inline(stored), HTTP_RANGE="bytes=-100"))
    assert AuditLog.objects.filter(action="file.view").count() == 1


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("bytes=0-0", (0, 0)),
        ("bytes=5-1000", (5, 99)),  # the end is clipped to the file
        ("bytes=-1000", (0, 99)),
        ("bytes = 1 - 2", (1, 2)),
        ("bytes=9-3", None),  # invalid: ignored
        ("items=0-5", None),
        ("bytes=-", None),
        ("bytes=a-b", None),
        ("bytes=١-٢", None),  # Arabic-Indic digits are not digits here
    ],
)
def test_byte_range(header, expected):
    assert byte_range(header, 100) == expected


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=100-", 100), ("bytes=-0", 100), ("bytes=0-", 0)]
)
def test_byte_range_not_satisfiable(header, size):
    with pytest.raises(RangeNotSatisfiable):
        byte_range(header, size)


# --- memory and storage choice ---------------------------------------------------------------


def test_a_10_mb_file_is_streamed_not_read_whole(files):
    data = make_mp3(frames=10 * MB // 417)
    stored = files.store(data, name="long.mp3", mime="audio/mpeg")
    client = client_for(files.owner)
    tracemalloc.start()
    try:
        response = client.get(download(stored))
        received = 0
        digest = hashlib.sha256()
        for chunk in response.streaming_content:
            received += len(chunk)
            digest.update(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received == len(data) > 9 * MB
    assert digest.hexdigest() == stored.sha256
    assert peak < 2 * MB, f"peak memory {peak} bytes while serving a 10 MB file"


def test_files_on_disk_are_streamed_not_redirected():
    assert not serving.uses_signed_urls(default_storage)
