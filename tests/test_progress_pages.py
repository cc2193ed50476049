"""The working group's and the registry's progress page (portal/views/progress.py): the
numbers by department, course, teacher, class and grade, the time outcomes wait, who sees
which students, hostile parameters, the xlsx, and a flat query count."""

import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from accounts.models import Division, Role
from portal.views import progress
from portfolio.models import Term, Window, WindowKind
from records.models import Course, CourseEnrolment, SchoolClass, Student
from submissions.models import (
    CourseOutcome,
    OutcomeState,
    Performance,
    PerformanceSource,
    PerformanceState,
    StoredFile,
)
from tests.builders.people import acting, client_for, english

S = OutcomeState
URL = reverse("progress:index")
EXPORT = reverse("progress:export")
TAIPEI = dt.timezone(dt.timedelta(hours=8))


def course_code(school, group="11", department="101", n=1) -> str:
    value = f"115{school.code}H{group}{department}0101{n:02d}01"
    assert len(value) == 23, value
    return value


class Term1:
    """Term 1 of the school's current year: classes of both divisions, courses of two
    departments taught by two teachers (one course by both, one by nobody), outcomes in
    every state and performances."""

    def __init__(self, school, make_member, prefix=""):
        self.school = school
        self.make_member = make_member
        self.prefix = prefix
        self.term = Term.objects.filter(school=school).order_by("number").first()
        self.year = self.term.school_year
        self.n = 0

    def klass(self, name, grade=10, division=Division.DAY):
        return SchoolClass.objects.create(
            school=self.school, school_year=self.year, name=name, grade=grade, division=division
        )

    def student(self, klass):
        self.n += 1
        return Student.objects.create(
            school=self.school,
            student_number=f"{self.prefix}S{self.n:05d}",
            name=f"生{self.n}",
            school_class=klass,
        )

    def course(self, name, code, *teachers):
        course = Course.objects.create(
            school=self.school, term=self.term, code=code, name=name, grade=10, credits=2
        )
        for teacher in teachers:
            course.teachers.add(teacher.user)
        return course

    def teacher(self, name):
        return self.make_member(self.school, Role.TEACHER, name=name)

    def outcome(self, student, course, state):
        enrolment, _ = CourseEnrolment.objects.get_or_create(
            school=self.school, student=student, course=course
        )
        self.n += 1
        stored = StoredFile.objects.create(
            school=self.school,
            student=student,
            storage_key=f"{self.prefix}{self.n:030d}.pdf",
            display_name="成果.pdf",
            extension="pdf",
            mime="application/pdf",
            size=1,
            sha256="0" * 64,
        )
        return CourseOutcome.objects.create(
            school=self.school,
            student=student,
            enrolment=enrolment,
            title="成果",
            description="簡述",
            document=stored,
            state=state,
        )

    def performance(self, student, state=PerformanceState.SAVED, year=None):
        return Performance.objects.create(
            school=self.school,
            student=student,
            school_year=year or self.year,
            category="work",
            source=PerformanceSource.STUDENT,
            state=state,
            name="作品",
        )


@pytest.fixture
def world(school, make_member):
    """
    Day classes 101 (grade 10, 3 students) and 201 (grade 11, 1 student); continuing
    class C101 (grade 10, 1 student).

    Physics (group 11 dept 101): taught by Tan and Lee.
    Welding (group 22 dept 301): taught by Lee.
    Art (a code that is no course code): no teacher.

    Outcomes of term 1 (course, student: state):
      Physics  a: awaiting, certified, draft   b: rejected, withdrawn
      Welding  a: certified                   c: awaiting
      Art      d (class 201): awaiting
      Physics  e (continuing C101): awaiting, certified
    and one certified outcome of term 2 (not counted).
    """
    w = Term1(school, make_member)
    school.has_continuing_division = True
    school.save()
    w.c101, w.c201 = w.klass("101"), w.klass("201", grade=11)
    w.cc101 = w.klass("C101", division=Division.CONTINUING)
    w.a, w.b, w.c = w.student(w.c101), w.student(w.c101), w.student(w.c101)
    w.d, w.e = w.student(w.c201), w.student(w.cc101)
    w.tan, w.lee = w.teacher("Tan"), w.teacher("Lee")
    w.physics = w.course("Physics", course_code(school), w.tan, w.lee)
    w.welding = w.course("Welding", course_code(school, "22", "301", n=2), w.lee)
    w.art = w.course("Art", "ART-1")
    for state in (S.SUBMITTED, S.CERTIFIED, S.DRAFT):
        w.outcome(w.a, w.physics, state)
    w.outcome(w.b, w.physics, S.REJECTED)
    w.outcome(w.b, w.physics, S.WITHDRAWN)
    w.outcome(w.a, w.welding, S.CERTIFIED)
    w.outcome(w.c, w.welding, S.SUBMITTED)
    w.outcome(w.d, w.art, S.SUBMITTED)
    w.outcome(w.e, w.physics, S.SUBMITTED)
    w.outcome(w.e, w.physics, S.CERTIFIED)
    term2 = Term.objects.get(school_year=w.year, number=2)
    later = Course.objects.create(
        school=school, term=term2, code=course_code(school, n=9), name="Later", grade=10, credits=2
    )
    w.outcome(w.a, later, S.CERTIFIED)
    w.performance(w.a)
    w.performance(w.a)
    w.performance(w.b, state=PerformanceState.DRAFT)
    w.performance(w.c, state=PerformanceState.WITHDRAWN)
    w.performance(w.e)
    w.group = make_member(school, Role.WORKING_GROUP)
    w.registry = make_member(school, Role.REGISTRY)
    w.registry_c = make_member(school, Role.REGISTRY, division=Division.CONTINUING)
    return w


def counts(row):
    return (row.awaiting, row.certified, row.rejected)


def by_label(rows):
    return {row.label: row for row in rows}


# --- The numbers --------------------------------------------------------------------------------


def test_certification_by_course_teacher_and_department(world):
    with translation.override("en"):
        cert = progress.certification_rows(acting(world.group), world.term, "", timezone.now())
        courses = by_label(cert.courses)
        assert counts(courses["Physics"]) == (2, 2, 1)  # both divisions, no draft/withdrawn
        assert counts(courses["Welding"]) == (1, 1, 0)
        assert counts(courses["Art"]) == (1, 0, 0)
        assert "Later" not in courses  # another term
        assert courses["Physics"].teachers == ["Lee", "Tan"]
        assert courses["Physics"].decided_percent == 60.0
        teachers = by_label(cert.teachers)
        assert counts(teachers["Tan"]) == (2, 2, 1)
        assert counts(teachers["Lee"]) == (3, 3, 1)  # Physics and Welding
        assert teachers["Lee"].courses == 2
        assert counts(teachers["No teacher set"]) == (1, 0, 0)
        departments = by_label(cert.departments)
        assert counts(departments["Group 11, department 101"]) == (2, 2, 1)
        assert counts(departments["Group 22, department 301"]) == (1, 1, 0)
        assert counts(departments["Course code not recognised"]) == (1, 0, 0)
        assert [d.label for d in cert.departments][-1] == "Course code not recognised"
        assert counts(cert.total) == (4, 3, 1)
        assert cert.total.courses == 3
        assert cert.total.decided_percent == 50.0


def test_uploads_by_class_and_grade(world):
    with translation.override("en"):
        uploads = progress.upload_rows(acting(world.group), world.term, "")
        classes = by_label(uploads.classes)
        c101 = classes["101"]
        # a and b handed in (b's rejected one counts; a draft or a withdrawn one does not).
        assert (c101.students, c101.with_outcome, c101.outcomes, c101.performances) == (
            3,
            3,
            5,
            2,
        )
        assert c101.with_outcome_percent == 100.0
        c201 = classes["201"]
        assert (c201.students, c201.with_outcome, c201.outcomes, c201.performances) == (1, 1, 1, 0)
        cc101 = classes["C101"]
        assert (cc101.students, cc101.with_outcome, cc101.outcomes, cc101.performances) == (
            1,
            1,
            2,
            1,
        )
        assert cc101.note == "Continuing-education division"
        grades = by_label(uploads.grades)
        assert (grades["Grade 10"].classes, grades["Grade 10"].students) == (2, 4)
        assert grades["Grade 10"].outcomes == 7
        assert grades["Grade 11"].students == 1
        total = uploads.total
        assert (total.students, total.with_outcome, total.outcomes, total.performances) == (
            5,
            5,
            8,
            3,
        )


def test_b_counts_as_handed_in_through_a_rejected_outcome_only(world):
    """b's only outcomes: one rejected, one withdrawn. c's: one awaiting; a student with a
    draft alone is not counted."""
    lone = world.student(world.c101)
    world.outcome(lone, world.physics, S.DRAFT)
    uploads = progress.upload_rows(acting(world.group), world.term, "")
    c101 = by_label(uploads.classes)["101"]
    assert (c101.students, c101.with_outcome) == (4, 3)
    assert c101.with_outcome_percent == 75.0


def test_working_group_may_pick_a_division(world):
    cert = progress.certification_rows(
        acting(world.group), world.term, Division.CONTINUING, timezone.now()
    )
    assert [row.label for row in cert.courses] == ["Physics"]
    assert counts(cert.total) == (1, 1, 0)
    day = progress.certification_rows(acting(world.group), world.term, Division.DAY, timezone.now())
    assert counts(day.total) == (3, 2, 1)
    uploads = progress.upload_rows(acting(world.group), world.term, Division.DAY)
    assert [row.label for row in uploads.classes] == ["101", "201"]
    assert uploads.classes[0].note == ""


def test_median_days_waiting_and_oldest(world, time_machine):
    """Sent 10, 8, 3 and 1 days before now (one of Physics, the rest of Welding)."""
    now = dt.datetime(2030, 3, 20, 9, 0, tzinfo=TAIPEI)
    CourseOutcome.objects.filter(state=S.SUBMITTED).delete()
    world.outcome(world.d, world.art, S.CERTIFIED)  # nothing of Art awaits
    sent = {}
    for days, course in ((10, world.physics), (8, world.welding), (3, world.welding)):
        time_machine.move_to(now - dt.timedelta(days=days), tick=False)
        sent[days] = world.outcome(world.c, course, S.SUBMITTED)
    time_machine.move_to(now - dt.timedelta(days=1, hours=12), tick=False)
    world.outcome(world.d, world.welding, S.SUBMITTED)
    time_machine.move_to(now, tick=False)
    cert = progress.certification_rows(acting(world.group), world.term, "", timezone.now())
    courses = by_label(cert.courses)
    assert courses["Physics"].median_days == 10.0
    assert courses["Physics"].oldest == dt.date(2030, 3, 10)
    assert courses["Welding"].median_days == 3.0  # 8, 3 and 1.5
    assert courses["Welding"].oldest == dt.date(2030, 3, 12)
    assert cert.total.median_days == 5.5  # 10, 8, 3, 1.5
    assert cert.total.oldest == dt.date(2030, 3, 10)
    assert courses["Art"].median_days is None and courses["Art"].oldest is None
    # The page says the same.
    response = english(client_for(world.group)).get(URL, {"term": world.term.pk, "tab": "course"})
    page = response.content.decode()
    assert "5.5" in page and "2030-03-10" in page and "2030-03-12" in page


def test_the_oldest_is_a_taipei_day(world, time_machine):
    """Sent at 23:30 on 1 March UTC is 2 March in Taipei."""
    CourseOutcome.objects.filter(state=S.SUBMITTED).delete()
    time_machine.move_to(dt.datetime(2030, 3, 1, 23, 30, tzinfo=dt.UTC), tick=False)
    world.outcome(world.c, world.physics, S.SUBMITTED)
    time_machine.move_to(dt.datetime(2030, 3, 4, 23, 30, tzinfo=dt.UTC), tick=False)
    cert = progress.certification_rows(acting(world.group), world.term, "", timezone.now())
    assert cert.total.oldest == dt.date(2030, 3, 2)
    assert cert.total.median_days == 3.0


def test_department_of_reads_the_course_code(school):
    assert progress.department_of(course_code(school, "22", "301")) == ("22", "301")
    assert progress.department_of("short") is None


def test_default_term_prefers_one_whose_outcomes_are_under_way(school):
    terms = list(Term.objects.filter(school=school).order_by("number"))
    term1, term2 = terms
    inside_term2 = term2.starts_on + dt.timedelta(days=3)
    assert progress.default_term(terms, None, inside_term2) == term2
    assert progress.default_term(terms, term1.pk, inside_term2) == term1
    before = term1.starts_on - dt.timedelta(days=3)
    assert progress.default_term(terms, None, before) == term1
    assert progress.default_term([], None, before) is None


def test_page_defaults_to_the_term_with_a_certification_window_open(world, time_machine):
    term2 = Term.objects.get(school_year=world.year, number=2)
    now = dt.datetime.combine(term2.starts_on + dt.timedelta(days=2), dt.time(9), tzinfo=TAIPEI)
    time_machine.move_to(now, tick=False)
    client = english(client_for(world.group))
    assert client.get(URL).context["progress"].term == term2
    Window.objects.create(
        school=world.school,
        term=world.term,
        kind=WindowKind.CERTIFICATION,
        starts_at=now - dt.timedelta(days=10),
        ends_at=now + dt.timedelta(days=10),
    )
    assert client.get(URL).context["progress"].term == world.term


# --- The page, and who sees what --------------------------------------------------------------


def test_working_group_page_shows_every_tab(world):
    client = english(client_for(world.group))
    for tab, expected in (
        ("department", ["Group 11, department 101", "Group 22, department 301"]),
        ("course", ["Physics", "Welding", "Art", "Lee、Tan"]),
        ("teacher", ["Tan", "Lee", "No teacher set"]),
        ("class", ["101", "201", "C101", "Continuing-education division"]),
        ("grade", ["Grade 10", "Grade 11"]),
    ):
        response = client.get(URL, {"term": world.term.pk, "tab": tab})
        assert response.status_code == 200
        page = response.content.decode()
        for text in expected:
            assert text in page, (tab, text)
        assert 'class="table-wrap stack-on-phone"' in page
        assert "data-label=" in page
    response = client.get(URL, {"term": world.term.pk, "tab": "course", "sort": "awaiting"})
    assert [row.label for row in response.context["page"]] == ["Physics", "Art", "Welding"]


def test_registry_of_the_continuing_division_sees_its_students_only(world):
    client = english(client_for(world.registry_c))
    # A division asked for is not the registry's choice.
    response = client.get(URL, {"term": world.term.pk, "tab": "course", "division": Division.DAY})
    assert response.status_code == 200
    found = response.context["progress"]
    assert found.division == Division.CONTINUING and not found.may_pick_division
    assert counts(found.certification.total) == (1, 1, 0)
    assert [row.label for row in found.certification.courses] == ["Physics"]
    assert [row.label for row in found.uploads.classes] == ["C101"]
    page = response.content.decode()
    assert "Welding" not in page and "Art" not in page
    assert 'name="division"' not in page
    response = client.get(URL, {"term": world.term.pk, "tab": "class"})
    page = response.content.decode()
    assert "C101" in page and ">101<" not in page and "201" not in page


def test_registry_of_the_day_division(world):
    found = (
        english(client_for(world.registry)).get(URL, {"term": world.term.pk}).context["progress"]
    )
    assert counts(found.certification.total) == (3, 2, 1)
    assert found.uploads.total.students == 4


@pytest.mark.parametrize("role", [Role.TEACHER, Role.STUDENT, Role.HOMEROOM, Role.SCHOOL_ADMIN])
def test_other_roles_are_refused(world, make_member, role):
    client = client_for(make_member(world.school, role))
    assert client.get(URL).status_code == 403
    assert client.get(EXPORT).status_code == 403


def test_anonymous_is_sent_to_sign_in(world, client):
    assert client.get(URL).status_code == 302


def test_another_schools_working_group_sees_only_its_own(world, other_school, make_member):
    theirs = Term1(other_school, make_member, prefix="X")
    klass = theirs.klass("901", grade=12)
    student = theirs.student(klass)
    chemistry = theirs.course("Chemistry", course_code(other_school, "33", "333"))
    theirs.outcome(student, chemistry, S.CERTIFIED)
    client = english(client_for(make_member(other_school, Role.WORKING_GROUP)))
    # This school's term is no term of theirs.
    assert client.get(URL, {"term": world.term.pk}).status_code == 404
    response = client.get(URL, {"term": theirs.term.pk, "tab": "course"})
    assert response.status_code == 200
    found = response.context["progress"]
    assert [row.label for row in found.certification.courses] == ["Chemistry"]
    assert counts(found.certification.total) == (0, 1, 0)
    assert found.uploads.total.students == 1
    page = response.content.decode()
    for ours in ("Physics", "Welding", "Art", "Tan", "Lee"):
        assert ours not in page
    for tab in ("teacher", "class"):
        page = client.get(URL, {"term": theirs.term.pk, "tab": tab}).content.decode()
        assert "Tan" not in page and "Lee" not in page and "C101" not in page
    assert "901" in page
    book = load_workbook(io.BytesIO(client.get(EXPORT, {"term": theirs.term.pk}).content))
    cells = {str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row}
    assert "Chemistry" in cells and "Physics" not in cells and "Tan" not in cells


HOSTILE = ["abc", "1\x00", "9" * 25, "9" * 5000, "-1", "", "²", "\u202e1"]


@pytest.mark.parametrize("value", HOSTILE)
def test_bad_parameters_give_the_default_page(world, value):
    client = english(client_for(world.group))
    default = client.get(URL).context["progress"]
    for name in ("term", "division", "tab", "sort", "page"):
        response = client.get(URL, {name: value})
        assert response.status_code == 200, (name, value)
        found = response.context["progress"]
        assert (found.term, found.division, found.tab.key, found.sort) == (
            default.term,
            "",
            "department",
            "name",
        )
    response = client.get(EXPORT, {"term": value, "division": value})
    assert response.status_code == 200


def test_bad_export_format_or_unknown_term_is_404(world, other_school):
    client = english(client_for(world.group))
    for value in ("csv", "XLSX", "1\x00", "9" * 5000):
        assert client.get(EXPORT, {"format": value}).status_code == 404
    assert client.get(EXPORT, {"format": "xlsx"}).status_code == 200
    theirs = Term.objects.filter(school=other_school).first()
    assert client.get(URL, {"term": theirs.pk}).status_code == 404
    assert client.get(URL, {"term": 2**63 - 1}).status_code == 404
    assert client.get(EXPORT, {"term": theirs.pk}).status_code == 404


def test_a_sort_of_another_tab_falls_back(world):
    client = english(client_for(world.group))
    response = client.get(URL, {"tab": "class", "sort": "awaiting"})
    assert response.context["progress"].sort == "name"


def test_a_post_is_not_allowed(world):
    assert client_for(world.group).post(URL).status_code == 405


def test_no_term_set_up(db, make_member):
    from portfolio import services

    school = services.school_create(code="777777", name="新校", by=None)
    client = english(client_for(make_member(school, Role.WORKING_GROUP)))
    response = client.get(URL)
    assert response.status_code == 200
    assert "No term is set up yet" in response.content.decode()
    assert client.get(EXPORT).status_code == 404


def test_empty_term_teaches_what_goes_here(world):
    term2 = Term.objects.get(school_year=world.year, number=2)
    CourseOutcome.objects.filter(enrolment__course__term=term2).delete()
    page = english(client_for(world.group)).get(URL, {"term": term2.pk}).content.decode()
    assert "No course outcome of this term has reached a teacher yet" in page


# --- The workbook ---------------------------------------------------------------------------------


def _sheet(book, title):
    return [[cell.value for cell in row] for row in book[title].iter_rows()]


def test_the_workbook_holds_the_same_numbers(world, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    client = english(client_for(world.group))
    response = client.get(EXPORT, {"term": world.term.pk})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "progress" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["About", "Departments", "Courses", "Teachers", "Classes", "Grades"]
    found = client.get(URL, {"term": world.term.pk}).context["progress"]
    cert, uploads = found.certification, found.uploads

    departments = _sheet(book, "Departments")
    assert departments[0][:3] == ["Group code", "Department code", "Courses"]
    assert departments[1][:6] == ["11", "101", 1, 2, 2, 1]
    assert departments[2][:6] == ["22", "301", 1, 1, 1, 0]
    assert departments[3][:6] == ["Course code not recognised", None, 1, 1, 0, 0]
    assert departments[-1][:6] == ["Total", None, 3, 4, 3, 1]
    assert departments[-1][6] == cert.total.decided_percent == 50.0
    assert departments[-1][7] == cert.total.median_days

    courses = {row[2]: row for row in _sheet(book, "Courses")[1:]}
    assert courses["Physics"][:9] == [
        course_code(world.school),
        None,
        "Physics",
        10,
        "Lee、Tan",
        2,
        2,
        1,
        60.0,
    ]
    oldest = courses["Physics"][10]
    assert oldest.date() == by_label(cert.courses)["Physics"].oldest
    teachers = {row[0]: row for row in _sheet(book, "Teachers")[1:]}
    assert teachers["Lee"][2:6] == [2, 3, 3, 1]
    assert teachers["No teacher set"][2:6] == [1, 1, 0, 0]

    classes = {row[0]: row for row in _sheet(book, "Classes")[1:]}
    assert classes["101"] == [
        "101", 10, "Day division", 3, 3, 100.0, 5, 2
    ]  # fmt: skip
    assert classes["C101"][2:] == ["Continuing-education division", 1, 1, 100.0, 2, 1]
    assert classes["Total"][3:] == [
        uploads.total.students, uploads.total.with_outcome, 100.0, uploads.total.outcomes,
        uploads.total.performances,
    ]  # fmt: skip
    grades = {row[0]: row for row in _sheet(book, "Grades")[1:]}
    assert grades["Grade 10"][1:] == [2, 4, 4, 100.0, 7, 3]
    assert grades["Total"][1:] == [3, 5, 5, 100.0, 8, 3]
    about = {row[0]: row[1] for row in _sheet(book, "About")[1:]}
    assert about["Division"] == "Both divisions"


def test_the_registrys_workbook_is_its_division(world):
    response = english(client_for(world.registry_c)).get(EXPORT, {"division": Division.DAY})
    book = load_workbook(io.BytesIO(response.content))
    classes = [row[0] for row in _sheet(book, "Classes")[1:]]
    assert classes == ["C101", "Total"]
    assert "continuing" in response["Content-Disposition"]


# --- Queries ---------------------------------------------------------------------------------------

QUERY_BOUND = 15  # 4 to sign in and act, 2 for the term, 4 + 4 for the tables, 1 unread notices


def _grow(world, classes: int, students: int):
    """More of everything: classes of both divisions, courses with teachers, outcomes in
    every state and performances."""
    states = [S.SUBMITTED, S.CERTIFIED, S.REJECTED, S.DRAFT, S.WITHDRAWN]
    for k in range(classes):
        division = Division.CONTINUING if k % 3 == 2 else Division.DAY
        klass = world.klass(f"G{k:02d}", grade=10 + k % 3, division=division)
        teacher = world.teacher(f"T{k}")
        course = world.course(
            f"Course {k}",
            course_code(world.school, f"{k % 4}{k % 4}", f"{k:03d}", n=k % 99),
            teacher,
        )
        for _n in range(students):
            student = world.student(klass)
            for state in states[: 1 + (k + _n) % 5]:
                world.outcome(student, course, state)
            world.performance(student)


@pytest.mark.parametrize("size", [(0, 0), (12, 6)])
def test_a_constant_number_of_queries(world, size, django_assert_max_num_queries):
    _grow(world, *size)
    clients = [client_for(world.group), client_for(world.registry_c)]
    for client in clients:
        for tab in [tab.key for tab in progress.TABS]:
            with django_assert_max_num_queries(QUERY_BOUND):
                response = client.get(URL, {"tab": tab, "sort": "waiting"})
            assert response.status_code == 200
        with django_assert_max_num_queries(QUERY_BOUND):
            response = client.get(URL, {"term": world.term.pk, "division": Division.DAY})
        assert response.status_code == 200
        with django_assert_max_num_queries(QUERY_BOUND):
            response = client.get(EXPORT)
        assert response.status_code == 200
