"""Notices (accounts.notices): written once per event, rendered in the reader's language,
e-mailed unless turned off, retried then recorded when the mail server fails; what
certification and submissions tell students, teachers and the registry; the pages."""

import datetime as dt
import logging

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from accounts import notices
from accounts.models import EmailState, Notice, NoticeKind, Role
from certification import notices as cert_notices
from certification.concerns import concern_raise, concern_reply
from certification.services import (
    RejectionReason,
    outcome_certify,
    outcome_reject,
    outcome_reopen,
    outcome_undo,
)
from portfolio.models import AuditLog, Window, WindowKind
from records.models import Student
from submissions import notices as sub_notices
from submissions.models import OutcomeState, WindowExtension
from submissions.tasks import sweep
from tests.builders.certification import CertWorld
from tests.builders.people import acting, client_for, english


class FailingBackend(mail.backends.base.BaseEmailBackend):
    """A mail server that does not answer."""

    def send_messages(self, messages):
        raise ConnectionRefusedError("the mail server does not answer")


FAILING = f"{__name__}.FailingBackend"


@pytest.fixture(autouse=True)
def _locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://portfolio.example.edu.tw"


@pytest.fixture
def w(school, make_member, storage_dir):
    return CertWorld(school, make_member)


@pytest.fixture
def tan(w):
    w.teacher.user.email = "tan@example.edu.tw"
    w.teacher.user.save()
    return acting(w.teacher)


@pytest.fixture
def registry(school, make_member):
    return make_member(school, Role.REGISTRY, name="Registry Lin")


def with_account(student: Student, make_member, *, email="pupil@example.edu.tw", language=""):
    member = make_member(student.school, Role.STUDENT, name=student.name)
    user = member.user
    user.email = email
    if language:
        user.language = language
    user.save()
    student.user = user
    student.save()
    return member


def note(user_id, school_id, key="k1", **overrides):
    args = {
        "user_id": user_id,
        "school_id": school_id,
        "kind": NoticeKind.FROM_STAFF,
        "topic": "homeroom",
        "key": key,
        "params": {"what": "upload", "message": "", "by": "Ms Wu"},
    }
    args.update(overrides)
    return notices.Note(**args)


# --- written once ------------------------------------------------------------------------------


def test_a_notice_is_written_once_per_person_and_key(w, make_member):
    member = with_account(w.student, make_member)
    user = member.user
    assert notices.notify([note(user.pk, w.school.pk)]) == 1
    assert notices.notify([note(user.pk, w.school.pk)]) == 0
    assert notices.notify([note(user.pk, w.school.pk), note(user.pk, w.school.pk)]) == 0
    assert notices.notify([note(user.pk, w.school.pk, key="k2")]) == 1
    assert Notice.objects.filter(user=user).count() == 2


def test_the_unique_key_holds_even_if_two_runs_miss_each_other(w, make_member):
    """What a run that read the keys before another wrote them would do: the database keeps
    one (ignore_conflicts on the unique constraint)."""
    user = with_account(w.student, make_member).user
    notices.notify([note(user.pk, w.school.pk)])
    row = Notice(school=w.school, user=user, kind="from_staff", topic="homeroom", key="k1")
    Notice.objects.bulk_create([row], ignore_conflicts=True)
    assert Notice.objects.filter(user=user, key="k1").count() == 1


# --- e-mail ------------------------------------------------------------------------------------


def test_email_in_the_readers_language_with_a_link(w, make_member):
    user = with_account(w.student, make_member, language="en").user
    notices.notify([note(user.pk, w.school.pk, link="/portfolio/")])
    done = notices.deliver()
    assert done.sent == 1
    (message,) = mail.outbox
    assert message.to == ["pupil@example.edu.tw"]
    assert message.subject.endswith("A reminder from your homeroom teacher")
    assert "https://portfolio.example.edu.tw/portfolio/" in message.body
    assert "Ms Wu" not in message.body  # no words of theirs: only what to do
    assert "Upload your course outcomes" in message.body
    html, mime = message.alternatives[0]
    assert mime == "text/html" and 'lang="en"' in html
    notice = Notice.objects.get(user=user)
    assert notice.email == EmailState.SENT and notice.emailed_at is not None
    assert notices.deliver().sent == 0  # sent once


def test_email_in_chinese_by_default(w, make_member):
    user = with_account(w.student, make_member).user
    notices.notify([note(user.pk, w.school.pk)])
    notices.deliver()
    with translation.override("zh-hant"):
        expected = translation.gettext("A reminder from your homeroom teacher")
    assert expected != "A reminder from your homeroom teacher"
    assert mail.outbox[0].subject.endswith(expected)


def test_a_kind_turned_off_is_not_emailed_but_stays_in_the_app(w, make_member):
    user = with_account(w.student, make_member).user
    notices.email_off_set(user, [NoticeKind.FROM_STAFF, "nonsense"])
    user.refresh_from_db()
    assert user.notice_email_off == [NoticeKind.FROM_STAFF]
    notices.notify([note(user.pk, w.school.pk)])
    assert notices.deliver().sent == 0
    assert mail.outbox == []
    assert Notice.objects.get(user=user).email == EmailState.OFF


def test_turned_off_after_writing_is_respected_at_sending(w, make_member):
    user = with_account(w.student, make_member).user
    notices.notify([note(user.pk, w.school.pk)])
    notices.email_off_set(user, [NoticeKind.FROM_STAFF])
    done = notices.deliver()
    assert (done.sent, done.skipped, mail.outbox) == (0, 1, [])


def test_no_address_no_email(w, make_member):
    user = with_account(w.student, make_member, email="").user
    notices.notify([note(user.pk, w.school.pk)])
    assert Notice.objects.get(user=user).email == EmailState.OFF


def test_a_failing_mail_server_is_retried_then_recorded(w, make_member, settings, caplog):
    settings.EMAIL_BACKEND = FAILING
    user = with_account(w.student, make_member).user
    start = timezone.now()
    notices.notify([note(user.pk, w.school.pk)], now=start)
    waits = []
    moment = start
    with caplog.at_level(logging.WARNING, logger="accounts.notices"):
        for _attempt in range(notices.MAX_ATTEMPTS):
            assert notices.deliver(now=moment - dt.timedelta(seconds=1)).sent == 0  # not due
            done = notices.deliver(now=moment)
            notice = Notice.objects.get(user=user)
            if notice.email == EmailState.PENDING:
                assert done.retrying == 1
                waits.append(notice.email_next_at - moment)
                moment = notice.email_next_at
    assert waits == [dt.timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert notice.email == EmailState.FAILED
    assert notice.email_attempts == notices.MAX_ATTEMPTS
    assert "ConnectionRefusedError" in notice.email_error
    assert any("given up" in r.message for r in caplog.records if r.levelno == logging.ERROR)
    assert notices.deliver(now=moment + dt.timedelta(days=1)).sent == 0  # given up


def test_a_server_back_before_the_last_attempt_sends_it(w, make_member, settings):
    settings.EMAIL_BACKEND = FAILING
    user = with_account(w.student, make_member).user
    start = timezone.now()
    notices.notify([note(user.pk, w.school.pk)], now=start)
    notices.deliver(now=start)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    done = notices.deliver(now=start + dt.timedelta(minutes=1))
    assert done.sent == 1
    notice = Notice.objects.get(user=user)
    assert (notice.email, notice.email_attempts, notice.email_error) == (EmailState.SENT, 1, "")


# --- certification's notices -------------------------------------------------------------------


def _student_notices(student):
    return list(Notice.objects.filter(user=student.user).order_by("created_at", "pk"))


def test_each_decision_reaches_the_student(w, tan, make_member, registry):
    with_account(w.student, make_member, language="en")
    outcome = w.row()
    outcome = outcome_certify(outcome=outcome, by=tan, now=w.now, seen_at=outcome.updated_at)
    outcome_undo(outcome=outcome, by=tan, now=w.now + dt.timedelta(minutes=2))
    outcome.refresh_from_db()
    outcome_reject(
        outcome=outcome,
        by=tan,
        reason_code=RejectionReason.NOT_THIS_COURSE,
        reason_text="這是化學課的作業",
        now=w.now + dt.timedelta(minutes=3),
    )
    outcome_reopen(
        outcome=outcome, by=acting(registry), reason="老師誤判", now=w.now + dt.timedelta(hours=1)
    )
    found = _student_notices(w.student)
    assert [n.topic for n in found] == ["certified", "undone", "rejected", "reopened"]
    assert {n.kind for n in found} == {NoticeKind.DECISION}
    assert found[0].link == f"{reverse('outcomes:portfolio')}#outcome-{outcome.pk}"
    with translation.override("en"):
        said = notices.render(found[2])
        assert said.title == f"Not certified: “{outcome.title}”"
        assert "Reason: It is not work from this course. 這是化學課的作業" in said.lines
        assert "Teacher Tan did not certify" in said.lines[0]
    with translation.override("zh-hant"):
        zh = notices.render(found[2])
        label = translation.gettext("It is not work from this course.")
        assert any(label in line for line in zh.lines)
    with translation.override("en"):
        assert "Reason: 老師誤判" in notices.render(found[3]).lines
    notices.deliver(now=w.now + dt.timedelta(days=1))
    subjects = [m.subject.split("] ", 1)[1] for m in mail.outbox]
    assert subjects[0] == f"Certified: “{outcome.title}”" and len(subjects) == 4


def test_a_student_without_an_account_is_skipped(w, tan):
    outcome = w.row()
    outcome_certify(outcome=outcome, by=tan, now=w.now, seen_at=outcome.updated_at)
    assert Notice.objects.count() == 0


def test_an_answer_to_a_concern_reaches_the_student_not_their_own_words(w, tan, make_member):
    member = with_account(w.student, make_member)
    outcome = w.row(state=OutcomeState.REJECTED)
    concern = concern_raise(outcome=outcome, acting=acting(member), text="我認為是我的作品")
    assert Notice.objects.count() == 0
    concern_reply(concern=concern, acting=tan, text="請補上實驗紀錄")
    (notice,) = _student_notices(w.student)
    assert notice.topic == "concern_answer" and notice.kind == NoticeKind.CONCERN
    assert notice.link == reverse("certification:concern", args=[concern.pk])
    with translation.override("en"):
        assert notices.render(notice).lines == ["Teacher Tan answered:", "請補上實驗紀錄"]


# --- teachers: the digest and the reminders -----------------------------------------------------


def _awaiting(w, count):
    for seat in range(count):
        student = w.student_in(f"S{seat}", seat=seat + 2)
        w.outcome_of(student)


def test_the_teachers_digest_once_a_day_from_seven(w, tan):
    _awaiting(w, 3)
    day = timezone.localtime(w.now).date()
    early = dt.datetime.combine(day, dt.time(6, 30), tzinfo=w.now.tzinfo)
    assert cert_notices.teacher_digests(early) == 0
    morning = early + dt.timedelta(hours=1)
    assert cert_notices.teacher_digests(morning) == 1
    assert cert_notices.teacher_digests(morning + dt.timedelta(hours=5)) == 0
    (notice,) = Notice.objects.filter(user=w.teacher.user)
    assert notice.kind == NoticeKind.DIGEST and notice.link == reverse("certification:queue")
    assert notice.params["count"] == 3
    assert notice.params["courses"] == [{"name": "Physics", "count": 3}]
    with translation.override("en"):
        said = notices.render(notice)
    assert said.title == "3 course outcomes await your certification"
    assert said.lines[1] == "Physics: 3 awaiting"
    assert cert_notices.teacher_digests(morning + dt.timedelta(days=1)) == 1


def test_no_digest_when_nothing_awaits_or_the_window_is_closed(w, tan):
    day = timezone.localtime(w.now).date()
    morning = dt.datetime.combine(day, dt.time(8), tzinfo=w.now.tzinfo)
    assert cert_notices.teacher_digests(morning) == 0
    _awaiting(w, 1)
    assert cert_notices.teacher_digests(w.cert_closes + dt.timedelta(days=1)) == 0
    assert cert_notices.teacher_digests(w.cert_opens - dt.timedelta(days=1)) == 0


def test_a_teacher_who_left_gets_no_digest(w, tan):
    _awaiting(w, 1)
    w.teacher.is_active = False
    w.teacher.save()
    morning = dt.datetime.combine(timezone.localtime(w.now).date(), dt.time(8), tzinfo=w.now.tzinfo)
    assert cert_notices.teacher_digests(morning) == 0


def test_reminders_three_days_and_one_day_before_certification_closes(w, tan):
    _awaiting(w, 2)
    closes = w.cert_closes
    assert cert_notices.certification_reminders(closes - dt.timedelta(days=4)) == 0
    assert cert_notices.certification_reminders(closes - dt.timedelta(days=3)) == 1
    assert cert_notices.certification_reminders(closes - dt.timedelta(days=2)) == 0
    assert cert_notices.certification_reminders(closes - dt.timedelta(hours=20)) == 1
    assert cert_notices.certification_reminders(closes - dt.timedelta(hours=2)) == 0
    assert cert_notices.certification_reminders(closes + dt.timedelta(hours=1)) == 0
    first, last = Notice.objects.filter(user=w.teacher.user).order_by("created_at")
    assert (first.params["days"], last.params["days"]) == (3, 1)
    with translation.override("en"):
        said = notices.render(last)
        assert said.title == "Certification closes in 1 day"
        assert said.lines[0] == "2 course outcomes await your decision."
        local = timezone.localtime(closes).strftime("%Y-%m-%d %H:%M")
        assert said.lines[1] == f"The window closes at {local}."


def test_the_registry_asks_the_teachers_behind(w, tan, registry):
    _awaiting(w, 2)
    other = w.make_member(w.school, Role.TEACHER, name="Teacher Ho")  # nothing awaits her
    client = english(client_for(registry))
    response = client.post(f"{reverse('progress:notify_teachers')}?term={w.term1.pk}")
    assert response.status_code == 302
    (notice,) = Notice.objects.filter(topic="teachers_behind")
    assert notice.user == w.teacher.user and notice.params["count"] == 2
    assert not Notice.objects.filter(user=other.user).exists()
    response = client.post(f"{reverse('progress:notify_teachers')}?term={w.term1.pk}", follow=True)
    assert "1 teacher was already notified today; not again." in response.content.decode()
    assert Notice.objects.filter(topic="teachers_behind").count() == 1
    assert AuditLog.objects.filter(action="notices.teachers_behind").count() == 2


# --- students: reminders before windows close ---------------------------------------------------


def test_students_with_room_are_reminded_before_the_upload_window_closes(w, make_member):
    with_account(w.student, make_member)
    full = w.student_in("Full", seat=2)
    with_account(full, make_member, email="full@example.edu.tw")
    w.outcome_of(full)
    w.outcome_of(full, course=w.enrol(full, w.term1, "Chemistry").course)  # the cap is 2
    extended = w.student_in("Late", seat=3)
    with_account(extended, make_member, email="late@example.edu.tw")
    WindowExtension.objects.create(
        school=w.school, student=extended, term=w.term1, kind="outcome_upload", granted_by=w.teacher.user,
        starts_at=w.opens, ends_at=w.closes + dt.timedelta(days=7), reason="病假",
    )  # fmt: skip
    assert sub_notices.window_reminders(w.closes - dt.timedelta(days=5)) == 0
    assert sub_notices.window_reminders(w.closes - dt.timedelta(days=2)) == 1
    assert sub_notices.window_reminders(w.closes - dt.timedelta(days=2)) == 0
    (notice,) = Notice.objects.all()
    assert notice.user == w.student.user and notice.kind == NoticeKind.REMINDER
    assert notice.params["count"] == 0 and notice.params["cap"] == 2
    with translation.override("en"):
        said = notices.render(notice)
    assert said.title == "Course-outcome upload closes in 3 days"
    assert said.lines[0] == f"You have uploaded 0 of at most 2 course outcomes for {w.term1.label}."
    assert sub_notices.window_reminders(w.closes - dt.timedelta(hours=3)) == 1


def test_students_of_another_grade_are_not_reminded(w, make_member):
    with_account(w.student, make_member)
    w.window.grade = 11
    w.window.save()
    assert sub_notices.window_reminders(w.closes - dt.timedelta(days=2)) == 0


def test_selection_reminder_until_confirmed(w, make_member):
    from submissions.models import Selection

    with_account(w.student, make_member)
    confirmed = w.student_in("Done", seat=2)
    with_account(confirmed, make_member, email="done@example.edu.tw")
    year = w.term1.school_year
    Selection.objects.create(
        school=w.school, student=confirmed, school_year=year, confirmed_at=timezone.now()
    )
    window = Window.objects.create(
        school=w.school, term=w.term2, kind=WindowKind.SELECTION,
        starts_at=w.closes, ends_at=w.closes + dt.timedelta(days=10),
    )  # fmt: skip
    assert sub_notices.window_reminders(window.ends_at - dt.timedelta(hours=30)) == 1
    (notice,) = Notice.objects.filter(params__what="selection")
    assert notice.user == w.student.user and notice.link == reverse("selection:index")


# --- files lost ------------------------------------------------------------------------------


def test_a_lost_certified_file_reaches_the_student_and_the_registry(w, tan, make_member, registry):
    with_account(w.student, make_member)
    outcome = w.row()
    outcome = outcome_certify(outcome=outcome, by=tan, now=w.now, seen_at=outcome.updated_at)
    default_storage.delete(outcome.document.storage_path)
    Notice.objects.all().delete()
    sweep()
    student_notice = Notice.objects.get(user=w.student.user)
    assert student_notice.topic == "file_lost" and student_notice.kind == NoticeKind.FILE
    assert student_notice.link == reverse("outcomes:restore", args=[outcome.pk])
    office = Notice.objects.get(user=registry.user)
    assert office.topic == "files_lost" and office.params["count"] == 1
    with translation.override("en"):
        said = notices.render(office)
    assert said.title == "1 certified file was found missing or damaged"
    assert f"{w.student.name} (101): “{outcome.title}”" in said.lines
    sweep()  # the next night finds it still missing: the student is not told again
    assert Notice.objects.filter(user=w.student.user).count() == 1


# --- the pages ---------------------------------------------------------------------------------


def test_the_notices_page_shows_ones_own_and_marks_read(w, make_member, other_school):
    member = with_account(w.student, make_member)
    user = member.user
    for index in range(3):
        notices.notify([note(user.pk, w.school.pk, key=f"k{index}", link="/portfolio/")])
    classmate = with_account(w.student_in("B", seat=2), make_member, email="b@example.edu.tw")
    notices.notify(
        [note(classmate.user.pk, w.school.pk, key="theirs", params={"what": "selection"})]
    )
    client = english(client_for(member))
    page = client.get(reverse("notices:index")).content.decode()
    assert page.count("A reminder from your homeroom teacher</a></h2>") == 3
    assert "3 unread notices." in page
    assert "3 unread</span>" in page  # the header's count
    assert "Select and confirm" not in page  # the classmate's
    first = Notice.objects.filter(user=user).first()
    client.post(reverse("notices:index"), {"notice": first.pk})
    assert notices.unread_count(user, w.school) == 2
    client.post(reverse("notices:index"), {"notice": "x" * 30})  # no id: nothing happens
    client.post(reverse("notices:index"), {"notice": Notice.objects.get(user=classmate.user).pk})
    assert notices.unread_count(classmate.user, w.school) == 1  # not theirs to mark
    response = client.post(reverse("notices:index"), {"all": "1"}, follow=True)
    assert "2 notices marked as read." in response.content.decode()
    assert notices.unread_count(user, w.school) == 0
    outsider = make_member(other_school, Role.STUDENT)
    page = english(client_for(outsider)).get(reverse("notices:index")).content.decode()
    assert "No notice yet." in page


def test_the_notices_page_queries_do_not_grow(w, make_member):
    member = with_account(w.student, make_member)
    client = english(client_for(member))

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("notices:index")).status_code == 200
        return len(queries)

    notices.notify([note(member.user.pk, w.school.pk, key="first")])
    few = count()
    notices.notify([note(member.user.pk, w.school.pk, key=f"k{i}") for i in range(25)])
    assert count() == few


def test_email_settings_per_kind(w, make_member):
    member = with_account(w.student, make_member)
    client = english(client_for(member))
    page = client.get(reverse("notices:settings")).content.decode()
    assert "E-mail goes to pupil@example.edu.tw." in page
    assert "Decisions on my course outcomes" in page
    assert "A daily summary" not in page  # a teacher's kind
    wanted = [NoticeKind.DECISION, NoticeKind.CONCERN, NoticeKind.FILE]
    response = client.post(reverse("notices:settings"), {"kinds": wanted})
    assert response.status_code == 302
    member.user.refresh_from_db()
    assert sorted(member.user.notice_email_off) == sorted(
        [NoticeKind.REMINDER, NoticeKind.FROM_STAFF]
    )
    response = client.post(reverse("notices:settings"), {"kinds": ["digest"]})
    assert response.status_code == 400  # not a kind offered to a student
    assert (
        'aria-invalid="true"' in response.content.decode()
        or "errorlist" in response.content.decode()
    )


def test_the_language_picked_on_the_site_is_kept_for_emails(w, make_member):
    member = with_account(w.student, make_member)
    assert member.user.language == "zh-hant"
    client = client_for(member)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    member.user.refresh_from_db()
    assert member.user.language == "en"
    client.post(reverse("set_language"), {"language": "klingon", "next": "/"})
    member.user.refresh_from_db()
    assert member.user.language == "en"


# --- the homeroom teacher's reminders -------------------------------------------------------------


@pytest.fixture
def homeroom(w, make_member):
    member = make_member(w.school, Role.HOMEROOM, name="Ms Wu")
    w.klass.homeroom_teacher = member.user
    w.klass.save()
    return member


def test_the_homeroom_teacher_reminds_ticked_students_once_a_day(w, make_member, homeroom):
    pupils = [w.student] + [w.student_in(f"P{i}", seat=i + 2) for i in range(3)]
    for index, pupil in enumerate(pupils):
        with_account(pupil, make_member, email=f"p{index}@example.edu.tw")
    no_account = w.student_in("NoAccount", seat=9)
    client = english(client_for(homeroom))
    url = f"{reverse('homeroom:remind')}?school_class={w.klass.pk}"
    ticked = [p.pk for p in pupils[:3]] + [no_account.pk]
    response = client.post(
        url, {"students": ticked, "what": "selection", "message": "週五前完成"}, follow=True
    )
    page = response.content.decode()
    assert "3 students reminded." in page
    reminded = Notice.objects.filter(topic="homeroom")
    assert sorted(n.user_id for n in reminded) == sorted(p.user_id for p in pupils[:3])
    with translation.override("en"):
        said = notices.render(reminded[0])
    assert said.lines == [
        "Select and confirm what goes to the central database.",
        "Ms Wu writes: 週五前完成",
    ]
    response = client.post(
        url, {"students": [p.pk for p in pupils], "what": "selection"}, follow=True
    )
    page = response.content.decode()
    assert "1 student reminded." in page
    assert "3 students already had this reminder today; not sent again." in page
    client.post(url, {"students": [pupils[0].pk], "what": "upload"})  # another kind: sent
    assert Notice.objects.filter(user=pupils[0].user, topic="homeroom").count() == 2
    assert AuditLog.objects.filter(action="notices.homeroom_remind").count() == 3


def test_the_homeroom_reminder_refuses_nothing_ticked_and_other_classes(
    w, make_member, homeroom, other_school
):
    from records.models import SchoolClass

    other_class = SchoolClass.objects.create(
        school=w.school, school_year=w.klass.school_year, name="102", grade=10
    )
    stranger = w.student_in("Other", klass=other_class, seat=1)
    with_account(stranger, make_member, email="o@example.edu.tw")
    client = english(client_for(homeroom))
    url = f"{reverse('homeroom:remind')}?school_class={w.klass.pk}"
    response = client.post(url, {"students": [stranger.pk], "what": "upload"})
    assert response.status_code == 400
    assert "Tick at least one student of the class to remind." in response.content.decode()
    response = client.post(url, {"students": [w.student.pk], "what": "party"})
    assert response.status_code == 400
    response = client.post(
        url, {"students": [w.student.pk], "what": "upload", "message": "x" * 201}
    )
    assert response.status_code == 400
    assert not Notice.objects.exists()
    other_url = f"{reverse('homeroom:remind')}?school_class={other_class.pk}"
    assert client.post(other_url, {"students": [stranger.pk], "what": "upload"}).status_code == 404


def test_a_teacher_of_two_schools_gets_each_schools_digest(w, tan, other_school, make_member):
    from accounts.models import Division
    from accounts.services import membership_add

    _awaiting(w, 1)
    there = CertWorld(other_school, make_member)
    there.course.teachers.add(w.teacher.user)
    membership_add(
        school=other_school, user=w.teacher.user, role=Role.TEACHER, division=Division.DAY, by=None
    )
    there.outcome_of(there.student_in("Other", seat=2))
    now = max(w.cert_opens, there.cert_opens) + dt.timedelta(hours=3)
    morning = timezone.localtime(now).replace(hour=9)
    assert cert_notices.teacher_digests(morning) >= 2
    schools = set(Notice.objects.filter(user=w.teacher.user).values_list("school_id", flat=True))
    assert schools == {w.school.pk, other_school.pk}


def test_a_broker_that_does_not_answer_fails_nothing(w, make_member, monkeypatch, caplog):
    """The delivery is queued after the commit; a broker that is down is logged, the notice
    waits in the database for the beat's delivery."""
    from kombu.exceptions import OperationalError

    from accounts.tasks import deliver_notices

    def down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(deliver_notices, "apply_async", down)
    user = with_account(w.student, make_member).user
    with caplog.at_level(logging.WARNING, logger="accounts.notices"):
        notices._deliver_soon()
        notices.notify([note(user.pk, w.school.pk)])
    assert "beat sends them later" in caplog.text
    assert Notice.objects.get(user=user).email == EmailState.PENDING
    assert notices.deliver(now=timezone.now() + dt.timedelta(seconds=1)).sent == 1


def test_a_notice_for_a_role_shows_when_acting_in_it(w, make_member):
    """A teacher's digest links to the queue: the same person acting as homeroom teacher
    neither sees it nor counts it (their student-facing notices have no role to hide)."""
    from accounts.models import Division
    from accounts.services import membership_add

    teacher = w.teacher
    as_homeroom = membership_add(
        school=w.school, user=teacher.user, role=Role.HOMEROOM, division=Division.DAY, by=None
    )
    notices.notify(
        [
            note(teacher.user.pk, w.school.pk, key="d", kind=NoticeKind.DIGEST, topic="digest",
                 params={"count": 2, "oldest": "", "courses": []}, role=Role.TEACHER),
            note(teacher.user.pk, w.school.pk, key="any"),
        ]
    )  # fmt: skip
    assert notices.unread_count(teacher.user, w.school, Role.TEACHER) == 2
    assert notices.unread_count(teacher.user, w.school, Role.HOMEROOM) == 1
    page = english(client_for(as_homeroom)).get(reverse("notices:index")).content.decode()
    assert "await your certification" not in page and "1 unread notice." in page
    english(client_for(as_homeroom)).post(reverse("notices:index"), {"all": "1"})
    assert notices.unread_count(teacher.user, w.school, Role.TEACHER) == 1
