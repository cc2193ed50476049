"""Demo portfolios for `seed_demo`: course outcomes and diverse performances with real files.

The first ten students of class 101 (s001 to s010) get course outcomes of term 1 in every state
(awaiting certification, certified by the course's teacher, rejected with a reason, a draft)
and diverse performances they added themselves; the class's cadres also get the posts the
student-affairs office entered (shown, not counted against the cap). The files are small PDFs
and PNGs made here, checked and stored exactly as uploads are.

Grade 10's selection window is open for three weeks from the day the demo is loaded, so s001
to s010 can select. Grade 12 selects in batches: the first batch's window closed last week and
the second opens in the second term. Grade 11's closed yesterday: the first five students of class 201 (s031 to
s035) have outcomes and performances too, selected, confirmed and locked, so that registry
finds rows in rosters 25 and 26 to build and submit. One student of class 201 (s060) has no
term-1 score in their first course, a problem the grade roster's pre-check reports until
registry enters it.

Rows are written directly rather than through the upload services: those enforce the
upload windows at the moment they run, and the demo must be the same whatever day it is
loaded. A student who already has any outcome is left alone, so running it again changes
nothing.
"""

import datetime as dt
import io

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from PIL import Image
from pypdf import PdfWriter

from accounts.models import Role
from portfolio import calendar
from portfolio.models import School, SchoolYear, Term, Window, WindowKind, WindowState
from portfolio.services import window_create
from records.models import CourseEnrolment, Student
from submissions.files import CheckedFile, check_upload
from submissions.models import (
    CourseOutcome,
    OutcomeState,
    Performance,
    PerformanceCategory,
    PerformanceSource,
    PerformanceState,
    Selection,
    StoredFile,
)
from submissions.performance_categories import clean_details
from submissions.services.stored_files import delete_paths, store, stored_file_row

DEMO_CLASS = "101"
DEMO_GRADE = 10
DEMO_STUDENTS = 10
# Grade 11: students whose selection window closed yesterday, their selections final.
SELECTED_CLASS = "201"
SELECTED_GRADE = 11
SELECTED_STUDENTS = 5
# A grade-11 student with a term-1 grade missing: the grade roster's pre-check reports it.
UNGRADED = "s060"
# (title, short description, file type) of each outcome; {course} is the course's name.
OUTCOMES = [
    ("{course}學習單與反思", "整理{course}課堂的重點與提問，並寫下自己的反思。", "pdf"),
    ("{course}小組報告", "與組員分工完成{course}的主題報告，負責資料蒐集與結論。", "pdf"),
    ("{course}課堂作品照片", "{course}課堂實作的成品照片與說明。", "png"),
    ("{course}期末專題", "以{course}所學完成期末專題，說明研究問題與方法。", "pdf"),
]
# Indexed by the student's seat (1-based): what became of each of their outcomes.
STATES = [
    OutcomeState.CERTIFIED,
    OutcomeState.SUBMITTED,
    OutcomeState.REJECTED,
    OutcomeState.DRAFT,
]
REJECTION = "檔案內容與課程無關，請上傳本課程的作品。"
PERFORMANCES = [
    (
        PerformanceCategory.COMPETITION,
        "全國高中職英語演講比賽",
        "代表學校參加英語演講比賽，講題為海洋永續。",
        {"item": "英語演講", "competition_level": "3", "award": "佳作", "participation": "1"},
    ),
    (
        PerformanceCategory.SERVICE,
        "社區圖書館志工",
        "協助整理書架與兒童說故事活動。",
        {"organiser": "市立圖書館", "hours": "12"},
    ),
    (
        PerformanceCategory.CERTIFICATE,
        "全民英檢中級初試",
        "通過全民英檢中級初試。",
        {"certificate_code": "1101", "certificate_kind": "1", "sub_results": "聽力96,閱讀92"},
    ),
]


def _clean(category: str, details: dict) -> dict:
    """The details as the category table keeps them; a demo entry that breaks it is a bug."""
    cleaned, problems = clean_details(category, details)
    if problems:
        raise ValueError(f"demo {category} details: {problems}")
    return cleaned


def _pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def _png(seat: int) -> bytes:
    image = Image.new("RGB", (320, 200), (40 + seat * 20, 120, 200 - seat * 10))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def checked_file(extension: str, seat: int) -> CheckedFile:
    data = _pdf() if extension == "pdf" else _png(seat)
    return check_upload(
        io.BytesIO(data),
        original_name=f"demo-{seat:02d}.{extension}",
        kind="document",
        allowed_types=["pdf", "jpg", "png"],
        max_bytes=4 * 1024 * 1024,
    )


def _seed_student(
    student: Student, seat: int, teacher, year: SchoolYear, now, paths: list[str]
) -> None:
    """The outcomes and performances of one student; each storage path written goes in paths."""
    enrolments = list(
        CourseEnrolment.objects.filter(
            student=student, course__credits__gt=0, course__term__number=1
        )
        .select_related("course")
        .prefetch_related("course__teachers")
        # Courses with a teacher first, so the demo teachers have a queue; the rest show the
        # registry's proxy certification (courses without an active teacher).
        .annotate(teachers=Count("course__teachers"))
        .order_by("-teachers", "course__name", "pk")[: len(OUTCOMES)]
    )
    for index, enrolment in enumerate(enrolments):
        title, description, extension = (
            text.format(course=enrolment.course.name) for text in OUTCOMES[index]
        )
        with checked_file(extension, seat) as checked:
            paths.append(store(student.school, checked))
            document = stored_file_row(student, checked)
        state = STATES[(seat + index) % len(STATES)]
        certifier = next(iter(enrolment.course.teachers.all()), teacher)
        CourseOutcome.objects.create(
            school=student.school,
            student=student,
            enrolment=enrolment,
            title=title,
            description=description,
            document=document,
            state=state,
            rejection_reason=REJECTION if state == OutcomeState.REJECTED else "",
            certified_by=certifier if state == OutcomeState.CERTIFIED else None,
            certified_at=now - dt.timedelta(days=2) if state == OutcomeState.CERTIFIED else None,
        )
    for index, (category, name, description, details) in enumerate(PERFORMANCES[: 1 + seat % 3]):
        proof: StoredFile | None = None
        if index == 0:
            with checked_file("pdf", seat) as checked:
                paths.append(store(student.school, checked))
                proof = stored_file_row(student, checked)
        Performance.objects.create(
            school=student.school,
            student=student,
            school_year=year,
            category=category,
            source=PerformanceSource.STUDENT,
            name=name,
            description=description,
            starts_on=dt.date(year.roc_year + 1911, 10, 1 + seat),
            ends_on=dt.date(year.roc_year + 1911, 10, 1 + seat),
            details=_clean(category, details),
            document=proof,
            state=PerformanceState.SAVED,
            entered_by=student.user,
        )


def _first_of_class(school: School, year: SchoolYear, name: str, count: int) -> list[Student]:
    return list(
        Student.objects.filter(
            school=school, school_class__school_year=year, school_class__name=name
        )
        .select_related("school", "user")
        .order_by("seat_number")[:count]
    )


def _seed_portfolios(students: list[Student], year: SchoolYear, teacher, now) -> None:
    for student in students:
        if CourseOutcome.objects.filter(student=student).exists():
            continue
        paths: list[str] = []
        try:
            with transaction.atomic():
                _seed_student(student, student.seat_number or 1, teacher, year, now, paths)
        except BaseException:
            delete_paths(paths)
            raise


def seed(*, school: School, year: SchoolYear, staff: dict) -> None:
    now = timezone.now()
    students = _first_of_class(school, year, DEMO_CLASS, DEMO_STUDENTS)
    _seed_portfolios(students, year, staff["teacher"], now)
    _school_entered(students, year, staff["affairs"])
    _selection_window(year)
    selected = _first_of_class(school, year, SELECTED_CLASS, SELECTED_STUDENTS)
    _seed_portfolios(selected, year, staff["teacher"], now)
    _final_selections(selected, year, now)
    _receipt_window(year, now)
    _ungraded(school, year)
    _grade_12_batches(year, now)


def _grade_12_batches(year: SchoolYear, now) -> None:
    """Grade 12 selects in batches (梯次): the first batch's window closed last week, the
    second opens in the second term; registry's page lists the batch rosters."""
    if Window.objects.filter(term__school_year=year, batch__isnull=False).exists():
        return
    second_term = year.terms.order_by("number")[1]
    opened = max(now - dt.timedelta(days=21), timezone.make_aware(
        dt.datetime.combine(year.starts_on, dt.time())
    ))  # fmt: skip
    window_create(
        term=_term_of(year, opened), kind=WindowKind.SELECTION, grade=12, batch=1,
        starts_at=opened, ends_at=max(opened + dt.timedelta(hours=1), now - dt.timedelta(days=7)),
        note="示範：三年級第一梯次勾選", by=None,
    )  # fmt: skip
    starts = timezone.make_aware(
        dt.datetime.combine(second_term.starts_on + dt.timedelta(days=14), dt.time(8))
    )
    window_create(
        term=second_term, kind=WindowKind.SELECTION, grade=12, batch=2, starts_at=starts,
        ends_at=starts + dt.timedelta(days=10), note="示範：三年級第二梯次勾選", by=None,
    )  # fmt: skip
    Window.objects.filter(term__school_year=year, batch=1, ends_at__lte=now).update(
        state=WindowState.CLOSED
    )
    calendar.bump(year.school_id)


def _ungraded(school: School, year: SchoolYear) -> None:
    """The first term-1 course of one student without its score, as if the teacher had not
    handed it in yet."""
    first = (
        CourseEnrolment.objects.filter(
            student__school=school,
            student__user__username=UNGRADED,
            course__term__school_year=year,
            course__term__number=1,
            course__credits__gt=0,
        )
        .order_by("course__code", "pk")
        .first()
    )
    if first is not None:
        CourseEnrolment.objects.filter(pk=first.pk).update(
            score=None,
            passed=None,
            makeup_score=None,
            makeup_passed=None,
            counts_credit="",
            description="",
        )


def _final_selections(students: list[Student], year: SchoolYear, now) -> None:
    """Grade 11's selection window closed yesterday; each of ``students`` selected their
    certified outcomes and their performances and confirmed, and the selections are final."""
    if not Window.objects.filter(
        term__school_year=year, kind=WindowKind.SELECTION, grade=SELECTED_GRADE
    ).exists():
        opened = max(now - dt.timedelta(days=15), timezone.make_aware(
            dt.datetime.combine(year.starts_on, dt.time())
        ))  # fmt: skip
        window = window_create(
            term=_term_of(year, opened),
            kind=WindowKind.SELECTION,
            grade=SELECTED_GRADE,
            starts_at=opened,
            ends_at=max(opened + dt.timedelta(hours=1), now - dt.timedelta(days=1)),
            note="示範：二年級勾選已截止",
            by=None,
        )
        Window.objects.filter(pk=window.pk).update(state=WindowState.CLOSED)
        calendar.bump(window.school_id)
    for student in students:
        selection, created = Selection.objects.get_or_create(
            school=student.school, student=student, school_year=year
        )
        if not created:
            continue
        selection.outcomes.set(
            CourseOutcome.objects.filter(student=student, state=OutcomeState.CERTIFIED)
        )
        selection.performances.set(
            Performance.objects.filter(student=student, source=PerformanceSource.STUDENT)
        )
        # Locked as the periodic task locks a selection whose window is over (the school's
        # July window for every grade is still to come, so it would not lock them yet).
        Selection.objects.filter(pk=selection.pk).update(
            saved_at=now - dt.timedelta(days=3),
            confirmed_at=now - dt.timedelta(days=3),
            locked_at=now - dt.timedelta(days=1),
        )


def _receipt_window(year: SchoolYear, now) -> None:
    """Grade 11's receipt-confirmation window, open for a week from the day the demo is
    loaded: once registry has submitted rosters 25 and 26, fetched the receipt and released
    it, grade 11's students confirm or dispute their lines."""
    if Window.objects.filter(
        term__school_year=year, kind=WindowKind.RECEIPT_CONFIRMATION, grade=SELECTED_GRADE
    ).exists():
        return
    window_create(
        term=_term_of(year, now),
        kind=WindowKind.RECEIPT_CONFIRMATION,
        grade=SELECTED_GRADE,
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(days=7),
        note="示範：二年級收訖明細確認",
        by=None,
    )


def _term_of(year: SchoolYear, moment) -> Term:
    terms = list(year.terms.order_by("number"))
    day = timezone.localtime(moment).date()
    return next((t for t in terms if t.starts_on <= day <= t.ends_on), terms[0])


def _selection_window(year: SchoolYear) -> None:
    """Grade 10's selection window open from the day the demo is loaded for three weeks, so
    that s001 to s010 can select their certified outcomes whatever day it is tried (the
    school's own schedule has it in July)."""
    if Window.objects.filter(
        term__school_year=year, kind=WindowKind.SELECTION, grade=DEMO_GRADE
    ).exists():
        return
    today = timezone.localdate()
    terms = list(year.terms.order_by("number"))
    term = next((t for t in terms if t.starts_on <= today <= t.ends_on), terms[0])
    opens = timezone.make_aware(dt.datetime.combine(today, dt.time()))
    window_create(
        term=term,
        kind=WindowKind.SELECTION,
        grade=DEMO_GRADE,
        starts_at=opens,
        ends_at=opens + dt.timedelta(days=21, hours=23, minutes=59),
        note="示範：一年級勾選提前開放",
        by=None,
    )


def _school_entered(students: list[Student], year: SchoolYear, affairs) -> None:
    """The cadre posts of the class as the student-affairs office entered them."""
    for student, post in zip(students[:2], ["班長", "副班長"], strict=False):
        Performance.objects.get_or_create(
            school=student.school,
            student=student,
            school_year=year,
            category=PerformanceCategory.CADRE,
            source=PerformanceSource.SCHOOL,
            name=post,
            defaults={
                "description": f"擔任{DEMO_CLASS}班{post}，協助班級事務。",
                "starts_on": dt.date(year.roc_year + 1911, 8, 30),
                "details": _clean(
                    PerformanceCategory.CADRE, {"organiser": f"{DEMO_CLASS}班", "cadre_level": "2"}
                ),
                "state": PerformanceState.SAVED,
                "entered_by": affairs,
                "entered_by_office": Role.STUDENT_AFFAIRS,
            },
        )
