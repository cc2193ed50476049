"""Receipts (收訖明細): the import refuses what is not this school's whole receipt of the
chosen year and imports nothing then; it reconciles each student's lines with what the
submitted packages sent (received, missing, different, unexpected); the same file twice
changes nothing; the password is never kept."""

import io
import json
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from accounts.models import Role
from portfolio.models import AuditLog, Job
from submissions.central import receipt as fmt
from submissions.models import LineStatus, Receipt, ReceiptLine
from submissions.services import receipts, rosters
from submissions.services.packages import sha256_of
from tests.builders.people import acting, client_for, english
from tests.builders.receipts import PASSWORD, entry_of, receipt_file, receipt_parts
from tests.builders.rosters import SelectedYear, build


@pytest.fixture
def registry(school, make_member):
    return make_member(school, Role.REGISTRY)


@pytest.fixture
def sent(school, registry, django_capture_on_commit_callbacks):
    """Outcomes and performances of two students, built and submitted."""
    world = SelectedYear(school)
    by = acting(registry)
    packages = []
    for kind in ("outcomes", "performances"):
        package = build(by, kind, world.year, capture=django_capture_on_commit_callbacks)
        rosters.package_submit(package=package, acting=by)
        package.refresh_from_db()
        packages.append(package)
    world.packages = packages
    return world


def _import(world, data: bytes, *, password=PASSWORD, by=None):
    return receipts.receipt_import(
        school=world.school,
        school_year=world.year,
        file=io.BytesIO(data),
        file_name="receipt.zip",
        password=password,
        sha256=sha256_of(io.BytesIO(data)),
        by=by,
        via="upload",
    )


def test_a_whole_receipt_is_received_line_by_line_and_tied_to_the_items(sent, registry):
    receipt, new = _import(sent, receipt_file(sent.packages), by=acting(registry))
    assert new
    lines = list(ReceiptLine.objects.filter(receipt=receipt))
    assert len(lines) == 4 and {line.status for line in lines} == {LineStatus.RECEIVED}
    assert {line.outcome_id for line in lines if line.outcome_id} == {o.pk for o in sent.outcomes}
    assert {line.performance_id for line in lines if line.performance_id} == {
        p.pk for p in sent.performances
    }
    assert receipt.counts["received"] == 4 and receipt.counts["students"] == 2
    assert {r["package"] for r in receipt.rosters} == {p.pk for p in sent.packages}
    for line in lines:
        if line.outcome_id:
            outcome = next(o for o in sent.outcomes if o.pk == line.outcome_id)
            assert line.received["課程代碼"] == outcome.enrolment.course.code
            assert line.student_id == outcome.student_id
    assert AuditLog.objects.filter(action="receipt.import").count() == 1


def test_the_same_receipt_twice_changes_nothing(sent):
    data = receipt_file(sent.packages)
    first, _new = _import(sent, data)
    again, new = _import(sent, data)
    assert not new and again.pk == first.pk
    assert Receipt.objects.count() == 1 and ReceiptLine.objects.count() == 4


def test_missing_different_and_unexpected_lines(sent):
    parts = receipt_parts(sent.packages)
    first, second = (s.national_id for s in sent.students)
    outcomes = entry_of(parts, "課程學習成果", first)
    outcomes["學期課程學習成果"].clear()  # dropped by the central database
    works = entry_of(parts, "多元表現", second)
    works["作品成果紀錄"][0]["內容簡述"] = "中央收到的說明不同"
    works["作品成果紀錄"].append({"學年度": "115", "學期": "0", "名稱": "多出來的", "日期": "",
                                 "內容簡述": ""})  # fmt: skip
    receipt, _new = _import(sent, receipt_file(sent.packages, parts=parts))
    missing = ReceiptLine.objects.get(receipt=receipt, status=LineStatus.MISSING)
    assert missing.student == sent.students[0] and missing.outcome_id == sent.outcomes[0].pk
    assert missing.sent["成果簡述"] == sent.outcomes[0].description and missing.received == {}
    different = ReceiptLine.objects.get(receipt=receipt, status=LineStatus.DIFFERENT)
    assert different.student == sent.students[1] and different.differs == ["內容簡述"]
    assert different.received["內容簡述"] == "中央收到的說明不同"
    assert different.sent["內容簡述"] == sent.performances[1].description
    unexpected = ReceiptLine.objects.get(receipt=receipt, status=LineStatus.UNEXPECTED)
    assert unexpected.received["名稱"] == "多出來的" and unexpected.student == sent.students[1]
    assert (receipt.counts["missing"], receipt.counts["different"]) == (1, 1)
    assert receipt.counts["students_with_problems"] == 2


def test_a_student_the_receipt_does_not_mention_has_every_line_missing(sent):
    parts = receipt_parts(sent.packages)
    for root in parts:
        parts[root][root] = [
            e for e in parts[root][root] if e["身分證號"] != sent.students[0].national_id
        ]
    receipt, _new = _import(sent, receipt_file(sent.packages, parts=parts))
    statuses = ReceiptLine.objects.filter(receipt=receipt, student=sent.students[0])
    assert sorted(statuses.values_list("status", flat=True)) == [LineStatus.MISSING] * 2


def _refused(world, data, password=PASSWORD) -> str:
    with translation.override("en"), pytest.raises(fmt.ReceiptRefused) as refused:
        _import(world, data, password=password)
    assert not Receipt.objects.exists() and not ReceiptLine.objects.exists()
    return str(refused.value)


def test_a_wrong_password_a_damaged_file_or_not_a_zip_imports_nothing(sent):
    data = receipt_file(sent.packages)
    assert "password is wrong" in _refused(sent, data, password="guess")
    assert "not a zip file" in _refused(sent, b"PK\x03\x04 truncated")
    damaged = bytearray(data)
    damaged[200] ^= 0xFF  # inside the first JSON file's deflated data
    assert "damaged" in _refused(sent, bytes(damaged)) or "SHA-256" in _refused(
        sent, bytes(damaged)
    )


def test_a_file_that_does_not_match_sha_txt_is_refused(sent):
    parts = receipt_parts(sent.packages)
    good = receipt_file(sent.packages, parts=parts)
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        files = {i.filename: archive.read(i, pwd=PASSWORD.encode()) for i in archive.infolist()}
    name = next(n for n in files if n.endswith("多元表現.json"))
    document = json.loads(files[name].decode("utf-8-sig"))
    document["多元表現"][0]["作品成果紀錄"][0]["名稱"] = "改過"
    files[name] = b"\xef\xbb\xbf" + json.dumps(document, ensure_ascii=False).encode()
    buffer = io.BytesIO()
    from portfolio.lib.zipcrypto import encrypted_zip

    encrypted_zip(buffer, list(files.items()), PASSWORD)
    assert "does not match its SHA-256" in _refused(sent, buffer.getvalue())


def test_another_schools_or_another_years_receipt_is_refused(sent, other_school):
    parts = receipt_parts(sent.packages)
    for part in parts.values():
        for entry in part[fmt.INFO]:
            entry["名稱"] = other_school.code + entry["名稱"][6:]
    assert f"school {other_school.code}'s" in _refused(
        sent, receipt_file(sent.packages, parts=parts)
    )
    parts = receipt_parts(sent.packages)
    next_year = sent.year.roc_year + 1
    for part in parts.values():
        for entry in part[fmt.INFO]:
            code, _year, rest = entry["名稱"].split("_", 2)
            entry["名稱"] = f"{code}_{next_year}_{rest}"
    assert f"school year {next_year}" in _refused(sent, receipt_file(sent.packages, parts=parts))


def test_the_import_job_checks_the_password_first_and_never_keeps_it(
    sent, registry, django_capture_on_commit_callbacks
):
    data = receipt_file(sent.packages)
    with pytest.raises(ValidationError) as refused:
        receipts.receipt_import_start(
            acting=acting(registry),
            school_year=sent.year,
            upload=SimpleUploadedFile("r.zip", data),
            password="wrong",
        )
    assert "password" in refused.value.message_dict
    with django_capture_on_commit_callbacks(execute=True):
        job = receipts.receipt_import_start(
            acting=acting(registry),
            school_year=sent.year,
            upload=SimpleUploadedFile("r.zip", data),
            password=PASSWORD,
        )
    job.refresh_from_db()
    assert job.result["new"] and Receipt.objects.get(pk=job.result["receipt"])
    assert "secret" not in job.params
    stored = json.dumps(list(AuditLog.objects.values("changes"))) + json.dumps(
        list(Job.objects.values("params", "result"))
    )
    assert PASSWORD not in stored


def test_the_registry_imports_from_its_page_and_sees_what_did_not_come_back(
    sent, registry, make_member, other_school, django_capture_on_commit_callbacks,
    django_assert_max_num_queries,
):  # fmt: skip
    parts = receipt_parts(sent.packages)
    entry_of(parts, "課程學習成果", sent.students[0].national_id)["學期課程學習成果"].clear()
    data = receipt_file(sent.packages, parts=parts)
    client = english(client_for(registry))
    wrong = client.post(
        reverse("receipts:import"),
        {"school_year": sent.year.roc_year, "file": SimpleUploadedFile("r.zip", data),
         "password": "guess"},
    )  # fmt: skip
    assert wrong.status_code == 400
    assert "password is wrong" in str(wrong.context["form"].errors["password"])
    assert 'aria-invalid="true"' in wrong.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            reverse("receipts:import"),
            {"school_year": sent.year.roc_year, "file": SimpleUploadedFile("r.zip", data),
             "password": PASSWORD},
        )  # fmt: skip
    job_page = client.get(started["Location"])
    receipt = Receipt.objects.get()
    assert reverse("receipts:detail", args=[receipt.pk]) in job_page.content.decode()
    with django_assert_max_num_queries(14):  # 13, and the unread notices in the header
        page = client.get(reverse("receipts:detail", args=[receipt.pk]))
    text = page.content.decode()
    assert sent.students[0].name in text and "Missing" in text
    assert sent.outcomes[0].description in text and sent.students[1].name not in text
    student = make_member(sent.school, Role.STUDENT)
    assert client_for(student).get(reverse("receipts:detail", args=[receipt.pk])).status_code == 403
    outsider = client_for(make_member(other_school, Role.REGISTRY))
    assert outsider.get(reverse("receipts:detail", args=[receipt.pk])).status_code == 404
    assert outsider.post(reverse("receipts:release", args=[receipt.pk])).status_code == 404
    assert not Receipt.objects.get().is_released
    assert client.post(reverse("receipts:release", args=[receipt.pk])).status_code == 302
    assert Receipt.objects.get().is_released
