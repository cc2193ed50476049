"""A certification belongs to the file: each decision records the sha256 of the files it was
made on; when storage loses or alters a certified outcome's file, the student and registry see
"file needs to be uploaded again"; the same bytes keep the certification without the teacher,
any other file sends the outcome back to awaiting certification."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from accounts.models import Role
from certification.services import outcome_certify
from portfolio.models import AuditLog
from submissions.models import FileFault, OutcomeState, StoredFile
from submissions.services.outcomes import outcome_restore_file
from tests.builders.certification import CertWorld
from tests.builders.files import make_pdf
from tests.builders.people import acting, client_for, english


@pytest.fixture
def w(school, make_member, storage_dir):
    return CertWorld(school, make_member)


def _certified_then_lost(w):
    outcome = w.row()
    data = make_pdf()  # what the student uploaded: its sha256 on the file's row
    StoredFile.objects.filter(pk=outcome.document_id).update(
        sha256=hashlib.sha256(data).hexdigest()
    )
    outcome.refresh_from_db()
    outcome = outcome_certify(
        outcome=outcome, by=acting(w.teacher), now=w.now, seen_at=outcome.updated_at
    )
    assert outcome.decided_files == {"document": outcome.document.sha256}
    StoredFile.objects.filter(pk=outcome.document_id).update(fault=FileFault.MISSING)
    outcome.refresh_from_db()
    return outcome, data


def _pdf(data: bytes, name="report.pdf"):
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def test_the_same_bytes_keep_the_certification(w, make_member):
    outcome, data = _certified_then_lost(w)
    assert outcome.needs_file_again
    member = make_member(w.school, Role.STUDENT)
    w.student.user = member.user
    w.student.save(update_fields=["user"])
    page = english(client_for(member)).get(reverse("outcomes:portfolio")).content.decode()
    assert "The file needs to be uploaded again." in page
    restored = outcome_restore_file(outcome=outcome, document=_pdf(data), by=acting(member))
    restored.refresh_from_db()
    assert restored.is_certified and not restored.needs_file_again
    assert restored.certified_by == w.teacher.user
    log = AuditLog.objects.get(action="outcome.restore_file")
    assert log.changes["certification_kept"] is True


def test_another_file_goes_back_to_awaiting_certification(w, make_member):
    outcome, data = _certified_then_lost(w)
    registry = make_member(w.school, Role.REGISTRY)
    other = make_pdf(pages=2)
    assert other != data
    restored = outcome_restore_file(outcome=outcome, document=_pdf(other), by=acting(registry))
    restored.refresh_from_db()
    assert restored.state == OutcomeState.SUBMITTED and restored.certified_by is None
    assert (
        AuditLog.objects.get(action="outcome.restore_file").changes["certification_kept"] is False
    )


def test_nothing_to_restore_is_refused_and_the_page_says_so(w, make_member):
    outcome = w.row()
    member = make_member(w.school, Role.STUDENT)
    w.student.user = member.user
    w.student.save(update_fields=["user"])
    with translation.override("en"), pytest.raises(Exception) as refused:
        outcome_restore_file(outcome=outcome, document=_pdf(make_pdf()), by=acting(member))
    assert "No file of this outcome needs to be uploaded again." in str(refused.value)
    page = english(client_for(member)).get(reverse("outcomes:restore", args=[outcome.pk]))
    assert "No file of this outcome needs to be uploaded again." in page.content.decode()


def test_the_restore_page_for_the_student_and_the_registry(w, make_member, other_school):
    outcome, data = _certified_then_lost(w)
    member = make_member(w.school, Role.STUDENT)
    w.student.user = member.user
    w.student.save(update_fields=["user"])
    client = english(client_for(member))
    sent = client.post(reverse("outcomes:restore", args=[outcome.pk]), {"document": _pdf(data)})
    assert sent.status_code == 302
    outcome.refresh_from_db()
    assert outcome.is_certified and not outcome.needs_file_again
    stranger = make_member(w.school, Role.STUDENT)
    assert (
        client_for(stranger).get(reverse("outcomes:restore", args=[outcome.pk])).status_code == 404
    )
    outsider = make_member(other_school, Role.REGISTRY)
    assert (
        client_for(outsider).get(reverse("outcomes:restore", args=[outcome.pk])).status_code == 404
    )
    teacher = client_for(w.teacher)
    assert teacher.get(reverse("outcomes:restore", args=[outcome.pk])).status_code == 403
