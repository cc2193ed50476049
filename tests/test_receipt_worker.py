"""Receipts on a real Celery worker (PostgreSQL and Redis, as .ci/run runs them): the same
receipt sent twice is imported once, whole, and the password leaves no trace; the
deemed-confirmation task sent again and again deems each student once, audited once. On
PostgreSQL, two imports of one receipt at once give one receipt, and two deeming runs at once
deem each student once."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from accounts.models import Role
from portfolio.celery import app
from portfolio.jobs import job_run
from portfolio.models import AuditLog, Job, Window, WindowKind
from submissions.models import AnswerState, Receipt, ReceiptAnswer, ReceiptLine
from submissions.services import receipts, rosters
from submissions.tasks import deem_receipt_answers
from tests.builders.concurrency import at_once
from tests.builders.people import acting
from tests.builders.receipts import PASSWORD, receipt_file
from tests.builders.rosters import SelectedYear
from tests.builders.worker import REAL_WORKER_MARKS, real_worker, wait_for


def _submitted(school, make_member):
    """Outcomes and performances of two students built (in this process) and submitted."""
    world = SelectedYear(school)
    world.by = acting(make_member(school, Role.REGISTRY))
    world.packages = []
    for key in ("outcomes", "performances"):
        package = rosters.package_start(
            acting=world.by, kind=rosters.KINDS_BY_KEY[key], school_year=world.year, term=None
        )
        job_run(package.job_id)
        package.refresh_from_db()
        rosters.package_submit(package=package, acting=world.by)
        package.refresh_from_db()
        world.packages.append(package)
    app.control.purge()  # the builds' own messages: already run here
    return world


def _released_with_a_closed_window(world):
    data = receipt_file(world.packages)
    receipt, _new = receipts.receipt_import(
        school=world.school, school_year=world.year, file=io.BytesIO(data),
        file_name="r.zip", password=PASSWORD, sha256="a" * 64, by=world.by, via="upload",
    )  # fmt: skip
    closes = timezone.now() - dt.timedelta(hours=1)
    receipts.receipt_release(receipt=receipt, acting=world.by, now=closes - dt.timedelta(days=2))
    Window.objects.create(
        school=world.school, term=world.term, kind=WindowKind.RECEIPT_CONFIRMATION,
        starts_at=closes - dt.timedelta(days=3), ends_at=closes,
    )  # fmt: skip
    return receipt


@pytest.mark.usefixtures("transactional_db")
class TestReceiptsOnARealWorker:
    pytestmark = REAL_WORKER_MARKS

    def test_the_same_receipt_sent_twice_to_the_worker_goes_in_once(
        self, school, make_member, storage_dir
    ):
        world = _submitted(school, make_member)
        data = receipt_file(world.packages)
        with real_worker("receipt-import", {"PRIVATE_MEDIA_ROOT": str(storage_dir)}) as process:
            jobs = [
                receipts.receipt_import_start(
                    acting=world.by,
                    school_year=world.year,
                    upload=SimpleUploadedFile("r.zip", data),
                    password=PASSWORD,
                )
                for _ in range(2)
            ]
            wait_for(
                lambda: all(Job.objects.get(pk=j.pk).is_finished for j in jobs),
                "finished imports",
                process,
            )
        results = [Job.objects.get(pk=j.pk) for j in jobs]
        assert sorted(j.result.get("new") for j in results) == [False, True], [
            (j.status, j.result) for j in results
        ]
        assert Receipt.objects.count() == 1 and ReceiptLine.objects.count() == 4
        assert all("secret" not in j.params for j in results)
        assert AuditLog.objects.filter(action="receipt.import").count() == 1

    def test_deemed_once_however_often_the_task_runs(self, school, make_member, storage_dir):
        world = _submitted(school, make_member)
        _released_with_a_closed_window(world)
        with real_worker("receipt-deem", {"PRIVATE_MEDIA_ROOT": str(storage_dir)}) as process:
            sent = [deem_receipt_answers.delay() for _ in range(4)]
            wait_for(lambda: all(r.ready() for r in sent), "the four runs", process)
        assert sorted(r.get() for r in sent) == [0, 0, 0, 2]
        answers = ReceiptAnswer.objects.all()
        assert answers.count() == 2 and {a.state for a in answers} == {AnswerState.DEEMED}
        assert AuditLog.objects.filter(action="receipt.deemed").count() == 2


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite serializes writes: nothing runs at once"
)
@pytest.mark.django_db(transaction=True)
def test_two_deeming_runs_at_once_deem_each_student_once(school, make_member, storage_dir):
    world = _submitted(school, make_member)
    _released_with_a_closed_window(world)
    results = at_once(receipts.receipts_deem, receipts.receipts_deem)
    assert sorted(results) == [0, 2], results
    assert ReceiptAnswer.objects.count() == 2
    assert AuditLog.objects.filter(action="receipt.deemed").count() == 2


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite serializes writes: nothing runs at once"
)
@pytest.mark.django_db(transaction=True)
def test_two_imports_of_one_receipt_at_once_give_one_receipt(school, make_member, storage_dir):
    world = _submitted(school, make_member)
    data = receipt_file(world.packages)

    def run():
        return receipts.receipt_import(
            school=school, school_year=world.year, file=io.BytesIO(data), file_name="r.zip",
            password=PASSWORD, sha256="b" * 64, by=world.by, via="upload",
        )  # fmt: skip

    results = at_once(run, run)
    assert sorted(new for _receipt, new in results) == [False, True], results
    assert Receipt.objects.count() == 1 and ReceiptLine.objects.count() == 4
