"""The simulated central database's receipts (收訖明細): made from the newest accepted workbook
of each roster that comes back in a receipt, read back by the platform's reader with the
password it hands out; instructions drop or alter one student's first line; the receipt
endpoint over the 2018 protocol; the pages (a school's offices only, their own school only);
the command and the demo's instructions."""

import base64
import hashlib
import io
import zlib

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from accounts.models import Division, Role
from centralsim import demo, receipts, server
from centralsim.models import SimReceipt, SimTweak, SimUpload, TweakAction
from portfolio.crypto import keyed_hash
from records.models import SchoolClass, Student
from submissions.central import protocol, receipt, v108
from submissions.models import Selection
from submissions.transports.base import TransportError
from submissions.transports.http import HttpTransport
from tests.builders.people import client_for, english
from tests.builders.rosters import code, valid_id

BIRTH = "0980501"
A, B, C = valid_id(1), valid_id(2), valid_id(3)
GRADE_HEADER = (*v108.KEY_COLUMNS, *v108.GRADE_COLUMNS["day"])
OUTCOME_HEADER = (*v108.KEY_COLUMNS, *v108.OUTCOME_COLUMNS)
STUDENT_HEADER = (*v108.KEY_COLUMNS, *v108.STUDENT_COLUMNS)
CADRE_HEADER = (*v108.KEY_COLUMNS, *v108.CADRE_COLUMNS)
STUDENT_ROW = [A, BIRTH, "1", "", "101", "1", "1", "10", "101", "1", "0", "在學", ""]


def workbook(school_code: str, year: int, term: int, roster: int, sheets: dict) -> bytes:
    """A roster workbook in the central layout: 封面, then {sheet: (header, rows)}."""
    book = Workbook()
    cover = book.active
    cover.title = v108.COVER_SHEET
    cover.append(v108.COVER_COLUMNS)
    cover.append([school_code, year, term, roster])
    for name, (header, rows) in sheets.items():
        sheet = book.create_sheet(name)
        sheet.append(header)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def send(school_code, year, term, roster, sheets, second=0) -> SimUpload:
    name = f"{school_code}_{year}_{term}_{roster}_20261204_10_00_{second:02d}.xlsx"
    data = io.BytesIO(workbook(school_code, year, term, roster, sheets))
    return server.accept_file(data, name)


def grade(nid, course, name, score=85):
    return [nid, BIRTH, course, name, 10, 4, score, 1, -1, None, 1, None]


def outcome(nid, year, course, summary):
    return [nid, BIRTH, f"{year}1", course, "物理", 10, 2, summary]


class Sent:
    """What a school sent for ``year``: grades of terms 1 and 2 (roster 2), course outcomes
    (roster 26), the students (roster 1, no receipt) and a cadre roster (24) that was
    rejected."""

    def __init__(self, school, year):
        self.code, self.year = school.code, year
        c1, c2, c3 = (code(school, n=n) for n in (1, 2, 3))
        self.term1 = send(self.code, year, 1, 2, {v108.GRADE_SHEET: (GRADE_HEADER, [
            grade(A, c1, "國語文"), grade(B, c1, "國語文", 70), grade(A, c2, "英語文"),
        ])})  # fmt: skip
        self.term2 = send(self.code, year, 2, 2, {v108.GRADE_SHEET: (GRADE_HEADER, [
            grade(A, c3, "數學"),
        ])})  # fmt: skip
        self.outcomes = send(self.code, year, 0, 26, {v108.OUTCOME_SHEET: (OUTCOME_HEADER, [
            outcome(C, year, c1, "實驗報告"), outcome(A, year, c1, "專題"),
        ])})  # fmt: skip
        self.students = send(self.code, year, 1, 1, {
            v108.STUDENT_SHEET: (STUDENT_HEADER, [STUDENT_ROW])
        })  # fmt: skip
        self.cadres = send(self.code, year, 1, 24, {v108.CADRE_SHEET: (CADRE_HEADER, [
            ["A123456788", BIRTH, "班級", "1140901", "1150120", "班長", 1],
        ])})  # fmt: skip
        for upload in (self.term1, self.term2, self.outcomes, self.students):
            assert upload.is_accepted, upload.problems
        assert not self.cadres.is_accepted


@pytest.fixture
def year(current_roc_year):
    return current_roc_year


@pytest.fixture
def sent(school, year):
    return Sent(school, year)


def read(made: SimReceipt, password: str | None = None) -> dict[str, receipt.ReceiptPart]:
    with made.file.open("rb") as handle:
        data = io.BytesIO(handle.read())
    return {p.root: p for p in receipt.receipt_read(data, password or made.password)}


def student(part: receipt.ReceiptPart, nid: str) -> dict | None:
    return next((s for s in part.students if s["身分證號"] == nid), None)


def test_a_receipt_answers_the_accepted_rosters_per_kind_and_student(sent, year):
    made = receipts.receipt_make(sent.code, year)
    assert made.file_name.startswith(f"{sent.code}_{year}_收訖明細_")
    assert made.file_name.endswith(".zip") and len(made.password) >= 12
    with made.file.open("rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == made.sha256
    parts = read(made)
    assert set(parts) == {"修課紀錄", "課程學習成果"}  # roster 1 and the rejected 24 left out
    grades, outcomes = parts["修課紀錄"], parts["課程學習成果"]
    assert grades.rosters == [
        {"名稱": sent.term1.file_name, "SHA": sent.term1.sha256},
        {"名稱": sent.term2.file_name, "SHA": sent.term2.sha256},
    ]
    assert outcomes.rosters == [{"名稱": sent.outcomes.file_name, "SHA": sent.outcomes.sha256}]
    assert [s["身分證號"] for s in grades.students] == [A, B]  # first seen first
    a = student(grades, A)
    assert a is not None and a["出生日期"] == BIRTH
    assert [(r["學期"], r["科目名稱"]) for r in a["學期成績"]] == [
        ("1", "國語文"), ("1", "英語文"), ("2", "數學"),
    ]  # fmt: skip
    assert a["學期成績"][0]["學年度"] == str(year) and a["學期成績"][0]["學期學業成績"] == "85"
    assert [s["身分證號"] for s in outcomes.students] == [C, A]
    assert made.counts == {
        "students": 3,
        "lines": {"修課紀錄": 4, "課程學習成果": 2},
        "dropped": 0,
        "altered": 0,
    }


def test_the_wrong_password_is_refused(sent, year):
    made = receipts.receipt_make(sent.code, year)
    # zlib.error: receipt_read lets it through when a wrong password happens to pass
    # ZipCrypto's one-byte check (about 1 in 200); reported to the reader's author.
    with pytest.raises((receipt.ReceiptRefused, zlib.error)):
        read(made, password="not-the-password")


def test_the_newest_accepted_upload_of_a_roster_is_used(sent, school, year):
    c1 = code(school, n=1)
    newer = send(sent.code, year, 2, 2, {v108.GRADE_SHEET: (GRADE_HEADER, [
        grade(B, c1, "歷史"),
    ])}, second=30)  # fmt: skip
    rejected = send(sent.code, year, 2, 2, {v108.GRADE_SHEET: (GRADE_HEADER, [
        grade("A123456788", c1, "地理"),
    ])}, second=40)  # fmt: skip
    assert newer.is_accepted and not rejected.is_accepted
    grades = read(receipts.receipt_make(sent.code, year))["修課紀錄"]
    names = [r["名稱"] for r in grades.rosters]
    assert names == [sent.term1.file_name, newer.file_name]
    a, b = student(grades, A), student(grades, B)
    assert a is not None and b is not None
    assert [r["科目名稱"] for r in a["學期成績"]] == ["國語文", "英語文"]
    assert [r["科目名稱"] for r in b["學期成績"]] == ["國語文", "歷史"]


def test_drop_and_alter_change_their_student_only(sent, year):
    receipts.tweak_add(school_code=sent.code, national_id_text=A.lower(), action="drop")
    receipts.tweak_add(school_code=sent.code, national_id_text=C, action="alter")
    receipts.tweak_add(
        school_code=sent.code, national_id_text=f" {A} ", action="drop", root="課程學習成果"
    )
    receipts.tweak_add(school_code="654321", national_id_text=B, action="drop")  # another school
    made = receipts.receipt_make(sent.code, year)
    parts = read(made)
    grades, outcomes = parts["修課紀錄"], parts["課程學習成果"]
    a = student(grades, A)
    assert a is not None
    # A's first line of the first kind where A has lines (修課紀錄) is gone.
    assert [r["科目名稱"] for r in a["學期成績"]] == ["英語文", "數學"]
    b = student(grades, B)
    assert b is not None and [r["科目名稱"] for r in b["學期成績"]] == ["國語文"]
    # C has lines in 課程學習成果 only: the last filled field of the first line is altered.
    c = student(outcomes, C)
    assert c is not None and c["學期課程學習成果"][0]["成果簡述"] == "實驗報告（模擬變更）"
    # A's one outcome dropped: A is no longer in 課程學習成果.
    assert student(outcomes, A) is None
    assert made.counts["dropped"] == 2 and made.counts["altered"] == 1
    assert made.counts["lines"] == {"修課紀錄": 3, "課程學習成果": 1}
    assert SimTweak.objects.filter(school_code=sent.code).count() == 3  # kept for next time
    tweak = SimTweak.objects.filter(school_code=sent.code).first()
    assert tweak is not None and tweak.national_id_masked == f"{A[:3]}****{A[-3:]}"
    assert tweak.national_id_hash == keyed_hash(A)


def test_a_receipt_is_refused_without_an_accepted_roster_that_has_one(school, year):
    with pytest.raises(server.Refused, match="no accepted roster"):
        receipts.receipt_make(school.code, year)
    send(school.code, year, 1, 1, {v108.STUDENT_SHEET: (STUDENT_HEADER, [STUDENT_ROW])})
    with pytest.raises(server.Refused):
        receipts.receipt_make(school.code, year)  # roster 1 has no receipt
    assert not SimReceipt.objects.exists()


# --- the endpoint ------------------------------------------------------------------------------


@pytest.fixture
def simulated(settings, live_server):
    settings.CENTRAL_SIM_API_KEY = "sim-key"
    return f"{live_server.url}/centralsim/iscom_api/"


@pytest.mark.django_db(transaction=True)
def test_the_endpoint_answers_the_zip_and_its_password(simulated, school, year):
    sent = Sent(school, year)
    fetched = HttpTransport(simulated, "sim-key").fetch_receipt(sent.code, year)
    made = SimReceipt.objects.get()
    assert fetched.name == made.file_name and fetched.password == made.password
    assert made.fetched_at is not None
    parts = {p.root: p for p in receipt.receipt_read(io.BytesIO(fetched.data), fetched.password)}
    assert set(parts) == {"修課紀錄", "課程學習成果"}
    with pytest.raises(TransportError, match="HTTP 400"):
        HttpTransport(simulated, "wrong-key").fetch_receipt(sent.code, year)
    with pytest.raises(TransportError, match="HTTP 400"):
        HttpTransport(simulated, "sim-key").fetch_receipt("654321", year)  # nothing sent
    assert SimReceipt.objects.count() == 1


def _sealed(client, payload: dict) -> dict:
    key = client.post(reverse("centralsim:public_key"), b"{}", content_type="application/json")
    answer = key.json()
    public = protocol.public_key_from_xml(answer["PublicKey"])
    return protocol.build_request(public, answer["GUID"], protocol.new_session(), payload)


def test_the_endpoint_answers_sha_and_refuses_what_it_cannot_read(settings, client, sent, year):
    settings.CENTRAL_SIM_API_KEY = "sim-key"
    url = reverse("centralsim:receipt")
    request = {"APIKey": "sim-key", "Mode": "RECEIPT", "學校代碼": sent.code, "學年度": year}
    envelope = _sealed(client, request)
    answer = client.post(url, envelope, content_type="application/json").json()
    data = base64.b64decode(answer["檔案"])
    assert answer["SHA"] == hashlib.sha256(data).hexdigest() and answer["說明"]
    again = client.post(url, envelope, content_type="application/json")  # the GUID is used up
    assert again.status_code == 400 and "GUID" in again.json()["錯誤"]
    for wrong in (
        {**request, "Mode": "GET"},
        {**request, "學校代碼": "12345\x00"},
        {**request, "學年度": "9" * 5000},
        {**request, "學年度": True},
    ):
        refused = client.post(url, _sealed(client, wrong), content_type="application/json")
        assert refused.status_code == 400, wrong
    assert client.post(url, b"\x00", content_type="application/json").status_code == 400


# --- the pages ---------------------------------------------------------------------------------


@pytest.fixture
def registry(school, make_member):
    return english(client_for(make_member(school, Role.REGISTRY)))


def test_the_office_makes_downloads_and_sees_its_receipts(
    registry, sent, year, django_assert_max_num_queries
):
    response = registry.post(reverse("centralsim:receipt_make"))
    assert response.status_code == 302
    made = SimReceipt.objects.get()
    page = registry.get(reverse("centralsim:received")).content.decode()
    assert made.file_name in page and made.password in page
    assert "given by the simulated central database" in page and "Simulation" in page
    assert f"Make a receipt for school year {year}" in page
    download = registry.get(reverse("centralsim:receipt_download", args=[made.pk]))
    data = b"".join(download.streaming_content)
    assert hashlib.sha256(data).hexdigest() == made.sha256
    assert download["Content-Type"] == "application/zip"
    for _ in range(3):
        registry.post(reverse("centralsim:receipt_make"))
    with django_assert_max_num_queries(12):
        assert registry.get(reverse("centralsim:received")).status_code == 200


def test_without_rosters_the_office_is_told(registry):
    response = registry.post(reverse("centralsim:receipt_make"), follow=True)
    assert "no accepted roster" in response.content.decode()
    assert not SimReceipt.objects.exists()


def test_the_office_keeps_and_deletes_instructions(registry, school):
    url = reverse("centralsim:tweak_add")
    response = registry.post(url, {"national_id": A, "action": "alter", "root": "多元表現"})
    assert response.status_code == 302
    tweak = SimTweak.objects.get()
    assert (tweak.school_code, tweak.action, tweak.root) == (school.code, "alter", "多元表現")
    page = registry.get(reverse("centralsim:received")).content.decode()
    assert tweak.national_id_masked in page and A not in page
    assert "Alter the student&#x27;s first line" in page
    bad = registry.post(url, {"national_id": "A123456788", "action": "drop"})
    assert bad.status_code == 200
    assert bad.context["tweak_form"].errors["national_id"]
    assert "check digit" in bad.content.decode()
    assert registry.post(url, {"national_id": A, "action": "burn"}).status_code == 200
    assert SimTweak.objects.count() == 1
    delete = reverse("centralsim:tweak_delete", args=[tweak.pk])
    assert registry.post(delete).status_code == 302
    assert not SimTweak.objects.exists()


def test_another_school_and_a_student_are_kept_out(
    sent, year, school, other_school, make_member, settings
):
    made = receipts.receipt_make(sent.code, year)
    tweak = receipts.tweak_add(school_code=school.code, national_id_text=A, action="drop")
    outsider = client_for(make_member(other_school, Role.REGISTRY))
    download = reverse("centralsim:receipt_download", args=[made.pk])
    delete = reverse("centralsim:tweak_delete", args=[tweak.pk])
    assert outsider.get(download).status_code == 404
    assert outsider.post(delete).status_code == 404
    page = outsider.get(reverse("centralsim:received")).content.decode()
    assert made.password not in page and tweak.national_id_masked not in page
    pupil = client_for(make_member(school, Role.STUDENT))
    assert pupil.get(download).status_code == 403
    assert pupil.post(reverse("centralsim:receipt_make")).status_code == 403
    assert pupil.post(delete).status_code == 403
    assert SimTweak.objects.filter(pk=tweak.pk).exists()
    office = client_for(make_member(school, Role.REGISTRY))
    settings.CENTRAL_SIMULATOR = False
    assert office.get(download).status_code == 404
    assert office.post(reverse("centralsim:receipt_make")).status_code == 404
    assert office.post(delete).status_code == 404
    endpoint = reverse("centralsim:receipt")
    assert office.post(endpoint, b"{}", content_type="application/json").status_code == 404


# --- the command and the demo ------------------------------------------------------------------


def test_the_command_keeps_instructions_and_writes_the_receipt(sent, year, tmp_path):
    out = io.StringIO()
    call_command(
        "centralsim", "receipt", sent.code, str(year), "--drop", B, "--out", str(tmp_path),
        stdout=out,
    )  # fmt: skip
    made = SimReceipt.objects.get()
    assert f"password: {made.password}" in out.getvalue()
    path = tmp_path / made.file_name
    with path.open("rb") as handle:
        parts = {p.root: p for p in receipt.receipt_read(handle, made.password)}
    assert student(parts["修課紀錄"], B) is None  # B's one grade line dropped
    assert SimTweak.objects.get().action == TweakAction.DROP
    with pytest.raises(CommandError, match="national ID"):
        call_command("centralsim", "receipt", sent.code, str(year), "--alter", "A1")
    with pytest.raises(CommandError, match="no accepted roster"):
        call_command("centralsim", "receipt", "654321", str(year), "--out", str(tmp_path))


def test_the_demo_keeps_a_drop_and_an_alter_for_two_selected_students(school, year):
    school_year = school.years.get(roc_year=year)
    klass = SchoolClass.objects.create(
        school=school, school_year=school_year, name="201", grade=11, division=Division.DAY
    )
    pupils = [
        Student.objects.create(
            school=school, student_number=f"11300{n}", name=f"學生{n}", school_class=klass,
            seat_number=n, national_id=valid_id(200 + n),
            national_id_hash=keyed_hash(valid_id(200 + n)),
        )
        for n in range(1, 4)
    ]  # fmt: skip
    for pupil in pupils:
        Selection.objects.create(
            school=school, student=pupil, school_year=school_year, locked_at=timezone.now()
        )
    demo.seed(school)
    demo.seed(school)
    tweaks = list(SimTweak.objects.order_by("pk"))
    assert [(t.national_id_hash, t.action) for t in tweaks] == [
        (pupils[0].national_id_hash, "drop"),
        (pupils[1].national_id_hash, "alter"),
    ]
