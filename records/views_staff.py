"""The records the offices keep, in the browser: cadre posts, clubs and attendance (student
affairs), consultation records (course consultants), career exploration (counselling),
enrolment changes (registry) and the class roster (homeroom teachers).

Each view: the role check, the access helper (404 for "not found" and "not yours" alike),
the form, the service, a redirect. Lists filter, sort, page by 50 and export as xlsx with
the same filters (``?export=xlsx``).
"""

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Max, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.forms import Form
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import acting_required
from accounts.models import Role
from portfolio.access import get_term_for
from portfolio.exports import xlsx_response
from portfolio.forms import apply_errors
from portfolio.lib import roc
from portfolio.lib.numbers import parse_id
from portfolio.models import SchoolYear, Term
from records import forms_staff as forms
from records.access import (
    classes_visible_to,
    get_cadre_post_for,
    get_career_record_for,
    get_club_for,
    get_club_membership_for,
    get_consultation_for,
    get_enrolment_change_for,
    get_student_for,
    students_visible_to,
)
from records.models import (
    AbsenceKind,
    AttendanceSummary,
    CadrePost,
    CareerExploration,
    Club,
    ClubMembership,
    Cluster,
    Consultation,
    CourseEnrolment,
    EnrolmentChange,
    Student,
)
from records.services import staff as services

AFFAIRS = Role.STUDENT_AFFAIRS
CONSULTANT = Role.CONSULTANT
COUNSELLOR = Role.COUNSELLOR
REGISTRY = Role.REGISTRY
HOMEROOM = Role.HOMEROOM
PAGE_SIZE = 50


# --- Shared machinery of lists and forms ------------------------------------------------------


def _with_defaults(request: HttpRequest, **defaults: Any) -> QueryDict:
    data = request.GET.copy()
    for name, value in defaults.items():
        if value is not None and not data.get(name):
            data[name] = str(value)
    return data


def _listing(
    request: HttpRequest,
    *,
    rows: QuerySet,
    template: str,
    context: dict[str, Any],
    export: Callable[[QuerySet], HttpResponse],
) -> HttpResponse:
    if request.GET.get("export") == "xlsx":
        return export(rows)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, template, {"page": page, **context})


def _xlsx(
    request: HttpRequest,
    *,
    name: str,
    sheet: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> HttpResponse:
    filename = f"{request.acting.school.code}-{name}-{timezone.localdate():%Y%m%d}.xlsx"
    return xlsx_response(filename=filename, sheet=sheet, headers=headers, rows=rows)


def _student_cells(student: Student) -> list[Any]:
    return [
        student.student_number,
        student.name,
        student.school_class.name if student.school_class_id else "",
        student.seat_number,
    ]


def _student_headers() -> list[str]:
    return [_("Student number"), _("Name"), _("Class"), _("Seat")]


def _submit(request: HttpRequest, form: Form, save: Callable[[dict[str, Any]], Any]) -> Any:
    """On a POST of a valid form, run ``save`` with its data and return what it returns;
    a service's ValidationError goes next to the fields it names. None: show the form."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        return save(form.cleaned_data)
    except ValidationError as exc:
        apply_errors(form, exc)
        return None


def _picked_student(request: HttpRequest) -> Student | None:
    """The student named by ``?student=<pk>``, when within the user's scope."""
    pk = parse_id(request.GET.get("student"))
    if pk is None:
        return None
    return students_visible_to(request.acting).select_related("school_class").filter(pk=pk).first()


def _back(url: str, query: str = "") -> str:
    return f"{url}?{query}" if query else url


# --- Student affairs: cadre posts -------------------------------------------------------------


@acting_required(AFFAIRS)
def cadre_list(request: HttpRequest) -> HttpResponse:
    school = request.acting.school
    filters = forms.CadreFilterForm(
        request.GET, school=school, classes=classes_visible_to(request.acting)
    )
    rows = filters.apply(
        CadrePost.objects.filter(
            school=school, student__in=students_visible_to(request.acting)
        ).select_related("student__school_class", "term__school_year")
    )

    def export(rows: QuerySet) -> HttpResponse:
        return _xlsx(
            request,
            name="cadre-posts",
            sheet=_("Cadre posts"),
            headers=[
                *_student_headers(),
                _("Term"),
                _("Unit"),
                _("Post"),
                _("Level code"),
                _("Level"),
                _("From"),
                _("Until"),
            ],
            rows=(
                [
                    *_student_cells(post.student),
                    post.term.label,
                    post.unit,
                    post.title,
                    post.level,
                    post.get_level_display(),
                    post.starts_on,
                    post.ends_on,
                ]
                for post in rows.iterator(chunk_size=2000)
            ),
        )

    return _listing(
        request,
        rows=rows,
        template="records/staff/cadre_list.html",
        context={"filters": filters},
        export=export,
    )


@acting_required(AFFAIRS)
def cadre_add(request: HttpRequest) -> HttpResponse:
    school = request.acting.school
    term = Term.objects.last_started_for(request.acting.school)
    if wanted_term := parse_id(request.GET.get("term")):
        term = Term.objects.filter(school=school, pk=wanted_term).first() or term
    initial = {
        "student": _picked_student(request),
        "term": term,
        "starts_on": term.starts_on if term else None,
        "ends_on": term.ends_on if term else None,
        "unit": request.GET.get("unit", ""),
        "title": request.GET.get("title", ""),
        "level": request.GET.get("level", ""),
    }
    form = forms.CadrePostForm(
        request.POST or None,
        school=school,
        students=students_visible_to(request.acting),
        initial=initial,
    )
    post = _submit(
        request,
        form,
        lambda data: services.cadre_post_create(school=school, by=request.acting, **data),
    )
    if post is not None:
        messages.success(request, _("Cadre post saved: %(post)s.") % {"post": post})
        if "another" in request.POST:
            query = {"term": post.term_id, "level": post.level}
            if post.level != "2":  # class posts differ by class; others share the unit
                query["unit"] = post.unit
            return redirect(_back(reverse("staffrecords:cadre_add"), urlencode(query)))
        return redirect("staffrecords:cadre_list")
    return render(request, "records/staff/cadre_form.html", {"form": form, "record": None})


@acting_required(AFFAIRS)
def cadre_edit(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_cadre_post_for(request.acting, pk)
    initial = {
        "student": record.student,
        "term": record.term,
        "unit": record.unit,
        "title": record.title,
        "level": record.level,
        "starts_on": record.starts_on,
        "ends_on": record.ends_on,
    }
    form = forms.CadrePostForm(
        request.POST or None,
        school=request.acting.school,
        students=students_visible_to(request.acting),
        initial=initial,
    )
    saved = _submit(
        request,
        form,
        lambda data: services.cadre_post_update(post=record, by=request.acting, **data),
    )
    if saved is not None:
        messages.success(request, _("Cadre post saved: %(post)s.") % {"post": saved})
        return redirect("staffrecords:cadre_list")
    return render(request, "records/staff/cadre_form.html", {"form": form, "record": record})


@require_POST
@acting_required(AFFAIRS)
def cadre_delete(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_cadre_post_for(request.acting, pk)
    label = str(record)
    services.cadre_post_delete(post=record, by=request.acting)
    messages.success(request, _("Cadre post removed: %(post)s.") % {"post": label})
    return redirect("staffrecords:cadre_list")


# --- Student affairs: clubs and their members ---------------------------------------------------


def _club_default_year(request: HttpRequest) -> SchoolYear | None:
    school = request.acting.school
    return (
        SchoolYear.objects.filter(school=school, roc_year=roc.current_school_year()).first()
        or SchoolYear.objects.filter(school=school).order_by("-roc_year").first()
    )


@acting_required(AFFAIRS)
def club_list(request: HttpRequest) -> HttpResponse:
    school = request.acting.school
    year = _club_default_year(request)
    filters = forms.ClubFilterForm(
        _with_defaults(request, school_year=year.pk if year else None), school=school
    )
    year = filters.get("school_year") or year
    rows = Club.objects.filter(school=school, school_year=year).annotate(
        term1=Count("memberships", filter=Q(memberships__term__number=1)),
        term2=Count("memberships", filter=Q(memberships__term__number=2)),
        members=Count("memberships__student", distinct=True),
    )
    if query := (filters.get("q") or "").strip():
        rows = rows.filter(name__icontains=query)
    rows = rows.order_by(*filters.ordering())

    def export(rows: QuerySet) -> HttpResponse:
        return _xlsx(
            request,
            name="clubs",
            sheet=_("Clubs"),
            headers=[
                _("School year"),
                _("Club"),
                _("Members in term 1"),
                _("Members in term 2"),
                _("Students in the year"),
            ],
            rows=(
                [year.roc_year, club.name, club.term1, club.term2, club.members] for club in rows
            ),
        )

    add_form = forms.ClubForm(school=school, initial={"school_year": year})
    return _listing(
        request,
        rows=rows,
        template="records/staff/club_list.html",
        context={"filters": filters, "year": year, "add_form": add_form},
        export=export,
    )


@acting_required(AFFAIRS)
def club_add(request: HttpRequest) -> HttpResponse:
    school = request.acting.school
    form = forms.ClubForm(
        request.POST or None, school=school, initial={"school_year": _club_default_year(request)}
    )
    club = _submit(
        request,
        form,
        lambda data: services.club_create(school=school, by=request.acting, **data),
    )
    if club is not None:
        messages.success(request, _("Club added: %(club)s.") % {"club": club})
        return redirect("staffrecords:club_detail", pk=club.pk)
    return render(request, "records/staff/club_form.html", {"form": form, "club": None})


@acting_required(AFFAIRS)
def club_edit(request: HttpRequest, pk: int) -> HttpResponse:
    club = get_club_for(request.acting, pk)
    form = forms.ClubRenameForm(request.POST or None, initial={"name": club.name})
    saved = _submit(
        request,
        form,
        lambda data: services.club_update(club=club, by=request.acting, **data),
    )
    if saved is not None:
        messages.success(request, _("Club saved: %(club)s.") % {"club": saved})
        return redirect("staffrecords:club_detail", pk=club.pk)
    members = club.memberships.count()
    return render(
        request, "records/staff/club_form.html", {"form": form, "club": club, "members": members}
    )


@require_POST
@acting_required(AFFAIRS)
def club_delete(request: HttpRequest, pk: int) -> HttpResponse:
    club = get_club_for(request.acting, pk)
    year_id, name = club.school_year_id, club.name
    removed = services.club_delete(club=club, by=request.acting)
    messages.success(
        request,
        _("Club removed: %(club)s, with %(count)s memberships.") % {"club": name, "count": removed},
    )
    return redirect(_back(reverse("staffrecords:club_list"), urlencode({"school_year": year_id})))


def _club_terms(club: Club) -> list[Term]:
    return list(club.school_year.terms.order_by("number"))


@acting_required(AFFAIRS)
def club_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A club's members in one term; members are added here."""
    club = get_club_for(request.acting, pk)
    terms = _club_terms(club)
    today = timezone.localdate()
    default = next(
        (t for t in reversed(terms) if t.starts_on <= today), terms[0] if terms else None
    )
    filters = forms.ClubMemberFilterForm(
        _with_defaults(request, term=default.pk if default else None),
        club=club,
        classes=classes_visible_to(request.acting),
    )
    term = filters.get("term") or default
    add_form = forms.ClubMemberForm(
        request.POST or None,
        club=club,
        students=students_visible_to(request.acting),
        initial={"term": term},
    )
    added = _submit(
        request,
        add_form,
        lambda data: services.club_member_add(club=club, by=request.acting, **data),
    )
    if added is not None:
        messages.success(
            request,
            _("%(student)s joined %(club)s in term %(term)s.")
            % {"student": added.student, "club": club, "term": added.term.label},
        )
        return redirect(
            _back(reverse("staffrecords:club_detail", args=[club.pk]), f"term={added.term_id}")
        )
    rows = filters.apply(
        ClubMembership.objects.filter(
            club=club, student__in=students_visible_to(request.acting)
        ).select_related("student__school_class", "term__school_year")
    )

    def export(rows: QuerySet) -> HttpResponse:
        return _xlsx(
            request,
            name="club-members",
            sheet=club.name,
            headers=[_("Club"), _("Term"), *_student_headers()],
            rows=(
                [club.name, m.term.label, *_student_cells(m.student)]
                for m in rows.iterator(chunk_size=2000)
            ),
        )

    copy_form = None
    if len(terms) == 2:
        copy_form = forms.ClubCopyForm(
            club=club, initial={"from_term": terms[0], "to_term": terms[1]}
        )
    return _listing(
        request,
        rows=rows,
        template="records/staff/club_detail.html",
        context={
            "club": club,
            "term": term,
            "filters": filters,
            "add_form": add_form,
            "copy_form": copy_form,
        },
        export=export,
    )


@require_POST
@acting_required(AFFAIRS)
def club_copy(request: HttpRequest, pk: int) -> HttpResponse:
    club = get_club_for(request.acting, pk)
    form = forms.ClubCopyForm(request.POST, club=club)
    url = reverse("staffrecords:club_detail", args=[club.pk])
    if not form.is_valid():
        messages.error(request, _("Choose the two terms to copy between."))
        return redirect(url)
    try:
        added = services.club_members_copy(club=club, by=request.acting, **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(url)
    to_term = form.cleaned_data["to_term"]
    messages.success(
        request,
        _("%(count)s members copied into term %(term)s.") % {"count": added, "term": to_term.label},
    )
    return redirect(_back(url, f"term={to_term.pk}"))


@require_POST
@acting_required(AFFAIRS)
def club_member_delete(request: HttpRequest, pk: int) -> HttpResponse:
    membership = get_club_membership_for(request.acting, pk)
    club, term_id, student = membership.club, membership.term_id, membership.student
    services.club_member_remove(membership=membership, by=request.acting)
    messages.success(request, _("%(student)s left %(club)s.") % {"student": student, "club": club})
    return redirect(_back(reverse("staffrecords:club_detail", args=[club.pk]), f"term={term_id}"))


# --- Student affairs: attendance ---------------------------------------------------------------


@acting_required(AFFAIRS)
def attendance_list(request: HttpRequest) -> HttpResponse:
    """Students with their periods of absence in one term, by kind."""
    default = Term.objects.last_started_for(request.acting.school)
    filters = forms.AttendanceFilterForm(
        _with_defaults(request, term=default.pk if default else None),
        school=request.acting.school,
        classes=classes_visible_to(request.acting),
    )
    term = filters.get("term") or default
    in_term = Q(attendance__term=term)
    students = (
        students_visible_to(request.acting)
        .select_related("school_class")
        .annotate(total=Coalesce(Sum("attendance__periods", filter=in_term), 0))
        .prefetch_related(
            Prefetch(
                "attendance",
                queryset=AttendanceSummary.objects.filter(term=term).order_by("kind"),
                to_attr="term_attendance",
            )
        )
    )
    rows = filters.apply(students) if term else Student.objects.none()
    label = term.label if term else ""

    def export(rows: QuerySet) -> HttpResponse:
        kinds = list(AbsenceKind)

        def cells(student: Student) -> list[Any]:
            periods = {row.kind: row.periods for row in student.term_attendance}
            return [
                *_student_cells(student),
                label,
                *(periods.get(kind.value, 0) for kind in kinds),
                student.total or 0,
            ]

        return _xlsx(
            request,
            name=f"attendance-{label}",
            sheet=_("Attendance"),
            headers=[
                *_student_headers(),
                _("Term"),
                *(f"{kind.value} {kind.label}" for kind in kinds),
                _("Total periods"),
            ],
            rows=(cells(student) for student in rows.iterator(chunk_size=2000)),
        )

    return _listing(
        request,
        rows=rows,
        template="records/staff/attendance_list.html",
        context={"filters": filters, "term": term},
        export=export,
    )


def _next_in_class(request: HttpRequest, student: Student) -> int | None:
    """The pk of the next student of the class by seat number, for "save and next"."""
    if not student.school_class_id:
        return None
    order = list(
        students_visible_to(request.acting)
        .filter(school_class_id=student.school_class_id)
        .order_by("seat_number", "student_number")
        .values_list("pk", flat=True)
    )
    at = order.index(student.pk) if student.pk in order else -1
    return order[at + 1] if 0 <= at < len(order) - 1 else None


@acting_required(AFFAIRS)
def attendance_edit(request: HttpRequest, term_pk: int, student_pk: int) -> HttpResponse:
    """One student's whole term at once: periods for each kind of absence."""
    term = get_term_for(request.acting, term_pk)
    student = get_student_for(request.acting, student_pk)
    recorded = {
        row.kind: row.periods
        for row in AttendanceSummary.objects.filter(student=student, term=term)
    }
    form = forms.AttendanceForm(request.POST or None, initial=recorded)
    saved = _submit(
        request,
        form,
        lambda data: services.attendance_set(
            school=request.acting.school,
            student=student,
            term=term,
            periods=form.periods(),
            by=request.acting,
        ),
    )
    if saved is not None:
        messages.success(
            request,
            _("Attendance of %(student)s in term %(term)s saved.")
            % {"student": student, "term": term.label},
        )
        following = _next_in_class(request, student) if "next" in request.POST else None
        if following is not None:
            return redirect("staffrecords:attendance_edit", term_pk=term.pk, student_pk=following)
        query = {"term": term.pk}
        if student.school_class_id:
            query["school_class"] = student.school_class_id
        return redirect(_back(reverse("staffrecords:attendance_list"), urlencode(query)))
    return render(
        request,
        "records/staff/attendance_form.html",
        {
            "form": form,
            "student": student,
            "term": term,
            "total": sum(recorded.values()),
            "has_next": _next_in_class(request, student) is not None,
        },
    )


# --- Course consultants: their students and consultation records -----------------------------


@acting_required(CONSULTANT)
def consultation_students(request: HttpRequest) -> HttpResponse:
    """The students of the classes the user consults, with how often they were consulted."""
    mine = Q(consultations__consultant=request.acting.principal)
    filters = forms.ConsultantStudentFilterForm(
        request.GET, classes=classes_visible_to(request.acting)
    )
    rows = filters.apply(
        students_visible_to(request.acting)
        .select_related("school_class")
        .annotate(
            records=Count("consultations", filter=mine),
            last_at=Max("consultations__held_at", filter=mine),
        )
    )

    def export(rows: QuerySet) -> HttpResponse:
        return _xlsx(
            request,
            name="consultation-students",
            sheet=_("My students"),
            headers=[*_student_headers(), _("Records"), _("Last consulted")],
            rows=(
                [*_student_cells(student), student.records, student.last_at]
                for student in rows.iterator(chunk_size=2000)
            ),
        )

    return _listing(
        request,
        rows=rows,
        template="records/staff/consultation_students.html",
        context={"filters": filters, "class_count": classes_visible_to(request.acting).count()},
        export=export,
    )


@acting_required(CONSULTANT)
def consultation_list(request: HttpRequest) -> HttpResponse:
    filters = forms.ConsultationFilterForm(request.GET, classes=classes_visible_to(request.acting))
    student = _picked_student(request)
    rows = Consultation.objects.filter(
        school=request.acting.school,
        consultant=request.acting.principal,
        student__in=students_visible_to(request.acting),
    ).select_related("student__school_class")
    if student is not None:
        rows = rows.filter(student=student)
    rows = filters.apply(rows)

    def export(rows: QuerySet) -> HttpResponse:
        return _xlsx(
            request,
            name="consultations",
            sheet=_("Consultation records"),
            headers=[
                *_student_headers(),
                _("Date and time"),
                _("Place"),
                _("Content"),
                _("Advice"),
            ],
            rows=(
                [*_student_cells(r.student), r.held_at, r.place, r.content, r.advice]
                for r in rows.iterator(chunk_size=2000)
            ),
        )

    return _listing(
        request,
        rows=rows,
        template="records/staff/consultation_list.html",
        context={"filters": filters, "student": student},
        export=export,
    )


def _now_to_the_minute() -> dt.datetime:
    return timezone.localtime().replace(second=0, microsecond=0)


@acting_required(CONSULTANT)
def consultation_add(request: HttpRequest) -> HttpResponse:
    school = request.acting.school
    form = forms.ConsultationForm(
        request.POST or None,
        students=students_visible_to(request.acting),
        initial={"student": _picked_student(request), "held_at": _now_to_the_minute()},
    )
    record = _submit(
        request,
        form,
        lambda data: services.consultation_create(
            school=school, consultant=request.acting.principal, by=request.acting, **data
        ),
    )
    if record is not None:
        messages.success(request, _("Consultation recorded: %(record)s.") % {"record": record})
        return redirect(
            _back(reverse("staffrecords:consultation_list"), f"student={record.student_id}")
        )
    return render(
        request,
        "records/staff/consultation_form.html",
        {"form": form, "record": None, "class_count": classes_visible_to(request.acting).count()},
    )


@acting_required(CONSULTANT)
def consultation_edit(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_consultation_for(request.acting, pk)
    initial = {
        "student": record.student,
        "held_at": timezone.localtime(record.held_at),
        "place": record.place,
        "content": record.content,
        "advice": record.advice,
    }
    form = forms.ConsultationForm(
        request.POST or None, students=students_visible_to(request.acting), initial=initial
    )
    saved = _submit(
        request,
        form,
        lambda data: services.consultation_update(record=record, by=request.acting, **data),
    )
    if saved is not None:
        messages.success(request, _("Consultation saved: %(record)s.") % {"record": saved})
        return redirect(
            _back(reverse("staffrecords:consultation_list"), f"student={saved.student_id}")
        )
    return render(request, "records/staff/consultation_form.html", {"form": form, "record": record})


@require_POST
@acting_required(CONSULTANT)
def consultation_delete(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_consultation_for(request.acting, pk)
    label, student_id = str(record), record.student_id
    services.consultation_delete(record=record, by=request.acting)
    messages.success(request, _("Consultation record removed: %(record)s.") % {"record": label})
    return redirect(_back(reverse("staffrecords:consultation_list"), f"student={student_id}"))


# --- Counselling office: career exploration ---------------------------------------------------

CLUSTER_LABELS = dict(Cluster.choices)


def _cluster_names(codes: Iterable[str]) -> list[str]:
    return [str(CLUSTER_LABELS.get(code, code)) for code in codes]


@acting_required(COUNSELLOR)
def career_list(request: HttpRequest) -> HttpResponse:
    filters = forms.CareerFilterForm(request.GET, classes=classes_visible_to(request.acting))
    student = _picked_student(request)
    rows = CareerExploration.objects.filter(
        school=request.acting.school, student__in=students_visible_to(request.acting)
    ).select_related("student__school_class", "counsellor")
    if student is not None:
        rows = rows.filter(student=student)
    rows = filters.apply(rows)

    def export(rows: QuerySet) -> HttpResponse:
        return _xlsx(
            request,
            name="career-exploration",
            sheet=_("Career exploration"),
            headers=[
                *_student_headers(),
                _("Date"),
                _("Academic cluster codes"),
                _("Academic clusters"),
                _("Exploration and plans"),
                _("Counsellor"),
            ],
            rows=(
                [
                    *_student_cells(r.student),
                    r.held_on,
                    ",".join(r.clusters),
                    "、".join(_cluster_names(r.clusters)),
                    r.content,
                    str(r.counsellor),
                ]
                for r in rows.iterator(chunk_size=2000)
            ),
        )

    if request.GET.get("export") == "xlsx":
        return export(rows)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    for record in page.object_list:
        record.cluster_names = _cluster_names(record.clusters)
    return render(
        request,
        "records/staff/career_list.html",
        {"page": page, "filters": filters, "student": student},
    )


def _career_form(request: HttpRequest, *, initial: dict[str, Any]) -> forms.CareerRecordForm:
    return forms.CareerRecordForm(
        request.POST or None, students=students_visible_to(request.acting), initial=initial
    )


@acting_required(COUNSELLOR)
def career_add(request: HttpRequest) -> HttpResponse:
    school = request.acting.school
    form = _career_form(
        request, initial={"student": _picked_student(request), "held_on": timezone.localdate()}
    )
    record = _submit(
        request,
        form,
        lambda data: services.career_record_create(
            school=school, counsellor=request.acting.principal, by=request.acting, **data
        ),
    )
    if record is not None:
        messages.success(
            request, _("Career exploration recorded: %(record)s.") % {"record": record}
        )
        return redirect("staffrecords:career_list")
    return render(request, "records/staff/career_form.html", {"form": form, "record": None})


@acting_required(COUNSELLOR)
def career_edit(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_career_record_for(request.acting, pk)
    form = _career_form(
        request,
        initial={
            "student": record.student,
            "held_on": record.held_on,
            "clusters": record.clusters,
            "content": record.content,
        },
    )
    saved = _submit(
        request,
        form,
        lambda data: services.career_record_update(record=record, by=request.acting, **data),
    )
    if saved is not None:
        messages.success(request, _("Career exploration saved: %(record)s.") % {"record": saved})
        return redirect("staffrecords:career_list")
    return render(request, "records/staff/career_form.html", {"form": form, "record": record})


@require_POST
@acting_required(COUNSELLOR)
def career_delete(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_career_record_for(request.acting, pk)
    label = str(record)
    services.career_record_delete(record=record, by=request.acting)
    messages.success(request, _("Career exploration removed: %(record)s.") % {"record": label})
    return redirect("staffrecords:career_list")


# --- Registry: enrolment changes and a student's history --------------------------------------


@acting_required(REGISTRY)
def change_list(request: HttpRequest) -> HttpResponse:
    filters = forms.EnrolmentChangeFilterForm(
        request.GET, classes=classes_visible_to(request.acting)
    )
    rows = filters.apply(
        EnrolmentChange.objects.filter(
            school=request.acting.school, student__in=students_visible_to(request.acting)
        ).select_related("student__school_class")
    )

    def export(rows: QuerySet) -> HttpResponse:
        return _xlsx(
            request,
            name="enrolment-changes",
            sheet=_("Enrolment changes"),
            headers=[
                *_student_headers(),
                _("Change"),
                _("Effective date"),
                _("Effective date (ROC)"),
                _("Note"),
            ],
            rows=(
                [
                    *_student_cells(change.student),
                    change.get_kind_display(),
                    change.effective_on,
                    roc.to_roc_date(change.effective_on),
                    change.note,
                ]
                for change in rows.iterator(chunk_size=2000)
            ),
        )

    find_form = forms.StudentFindForm(students=Student.objects.none(), auto_id="find-%s")
    return _listing(
        request,
        rows=rows,
        template="records/staff/change_list.html",
        context={"filters": filters, "find_form": find_form},
        export=export,
    )


@acting_required(REGISTRY)
def change_find(request: HttpRequest) -> HttpResponse:
    """Go to a student's enrolment history by student number or name."""
    form = forms.StudentFindForm(
        request.GET or None, students=students_visible_to(request.acting), auto_id="find-%s"
    )
    if form.is_bound and form.is_valid():
        return redirect("staffrecords:student_changes", pk=form.cleaned_data["student"].pk)
    return render(request, "records/staff/change_find.html", {"form": form})


def _history(student: Student) -> list[tuple[EnrolmentChange, str]]:
    """The student's changes in order, each with the status it leaves."""
    changes = list(student.changes.order_by("effective_on", "id"))
    return [(change, services.STATUS_AFTER[change.kind]) for change in changes]


@acting_required(REGISTRY)
def student_changes(request: HttpRequest, pk: int) -> HttpResponse:
    """A student's enrolment history in order, and the form to record the next change."""
    student = get_student_for(request.acting, pk)
    school = request.acting.school
    form = forms.EnrolmentChangeForm(
        request.POST or None, initial={"effective_on": timezone.localdate()}
    )
    change = _submit(
        request,
        form,
        lambda data: services.enrolment_change_create(
            school=school, student=student, by=request.acting, **data
        ),
    )
    if change is not None:
        messages.success(
            request,
            _("Recorded: %(change)s. Status now: %(status)s.")
            % {"change": change.get_kind_display(), "status": student.get_status_display()},
        )
        return redirect("staffrecords:student_changes", pk=student.pk)
    history = _history(student)
    status_labels = dict(services.S.choices)
    return render(
        request,
        "records/staff/student_changes.html",
        {
            "student": student,
            "history": [(c, status_labels[s]) for c, s in history],
            "form": form,
        },
    )


@acting_required(REGISTRY)
def change_add(request: HttpRequest) -> HttpResponse:
    school = request.acting.school
    form = forms.EnrolmentChangeAddForm(
        request.POST or None,
        students=students_visible_to(request.acting),
        initial={"student": _picked_student(request), "effective_on": timezone.localdate()},
    )
    change = _submit(
        request,
        form,
        lambda data: services.enrolment_change_create(school=school, by=request.acting, **data),
    )
    if change is not None:
        messages.success(
            request,
            _("Recorded: %(change)s. Status now: %(status)s.")
            % {
                "change": change.get_kind_display(),
                "status": change.student.get_status_display(),
            },
        )
        return redirect("staffrecords:student_changes", pk=change.student_id)
    return render(request, "records/staff/change_form.html", {"form": form, "record": None})


@acting_required(REGISTRY)
def change_edit(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_enrolment_change_for(request.acting, pk)
    form = forms.EnrolmentChangeForm(
        request.POST or None,
        initial={"kind": record.kind, "effective_on": record.effective_on, "note": record.note},
    )
    saved = _submit(
        request,
        form,
        lambda data: services.enrolment_change_update(change=record, by=request.acting, **data),
    )
    if saved is not None:
        messages.success(
            request,
            _("Change saved. Status now: %(status)s.")
            % {"status": saved.student.get_status_display()},
        )
        return redirect("staffrecords:student_changes", pk=record.student_id)
    return render(request, "records/staff/change_form.html", {"form": form, "record": record})


@require_POST
@acting_required(REGISTRY)
def change_delete(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_enrolment_change_for(request.acting, pk)
    try:
        status = services.enrolment_change_delete(change=record, by=request.acting)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("staffrecords:change_edit", pk=record.pk)
    messages.success(
        request,
        _("Change removed. Status now: %(status)s.") % {"status": dict(services.S.choices)[status]},
    )
    return redirect("staffrecords:student_changes", pk=record.student_id)


# --- Homeroom teachers: the class roster ------------------------------------------------------


@acting_required(HOMEROOM)
def roster(request: HttpRequest) -> HttpResponse:
    """The roster of one of the user's classes: basic data (national ID masked) and each
    student's courses in a term. Not paged: a class is small, and it is printed whole;
    the query count stays the same however large the class."""
    school = request.acting.school
    classes = list(classes_visible_to(request.acting))
    terms = list(
        Term.objects.filter(school=school, school_year__roc_year=roc.current_school_year())
        .select_related("school_year")
        .order_by("number")
    )
    today = timezone.localdate()
    default_term = next((t for t in reversed(terms) if t.starts_on <= today), None) or (
        terms[0] if terms else None
    )
    filters = forms.RosterFilterForm(
        _with_defaults(
            request,
            school_class=classes[0].pk if classes else None,
            term=default_term.pk if default_term else None,
        ),
        classes=classes,
        terms=terms,
    )
    school_class = filters.picked_class() or (classes[0] if classes else None)
    term = filters.picked_term() or default_term
    enrolments = (
        CourseEnrolment.objects.filter(course__term=term)
        .select_related("course")
        .order_by("course__code", "course__section")
    )
    rows = (
        filters.apply(
            Student.objects.filter(school=school, school_class=school_class).prefetch_related(
                Prefetch("enrolments", queryset=enrolments, to_attr="term_enrolments")
            )
        )
        if school_class is not None
        else Student.objects.none()
    )
    if request.GET.get("export") == "xlsx" and school_class is not None:
        return _xlsx(
            request,
            name=f"roster-{school_class.name}",
            sheet=school_class.name,
            headers=[
                _("Student number"),
                _("Seat"),
                _("Name"),
                _("Gender"),
                _("Date of birth"),
                _("National ID (masked)"),
                _("Status"),
                _("Courses"),
            ],
            rows=(
                [
                    s.student_number,
                    s.seat_number,
                    s.name,
                    s.get_gender_display(),
                    s.birth_date,
                    s.national_id_masked,
                    s.get_status_display(),
                    "、".join(e.course.name for e in s.term_enrolments),
                ]
                for s in rows
            ),
        )
    return render(
        request,
        "records/staff/roster.html",
        {
            "filters": filters,
            "school_class": school_class,
            "term": term,
            "students": rows,
            "has_classes": bool(classes),
        },
    )
