"""Student affairs (學務處): cadre posts, clubs and their members, attendance."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from portfolio.access import get_term_for
from portfolio.lib import roc
from portfolio.lib.numbers import parse_id
from portfolio.models import SchoolYear, Term, last_started
from records.access import (
    classes_visible_to,
    get_cadre_post_for,
    get_club_for,
    get_club_membership_for,
    get_student_for,
    students_visible_to,
)
from records.forms import affairs as forms
from records.models import AbsenceKind, AttendanceSummary, CadrePost, Club, ClubMembership, Student
from records.services import staff as services
from records.views.kinds import RecordKind, record_views
from records.views.lists import (
    back,
    listing,
    picked_student,
    student_cells,
    student_headers,
    submit,
    with_defaults,
    xlsx,
)

AFFAIRS = Role.STUDENT_AFFAIRS


# --- Cadre posts ----------------------------------------------------------------------------


@acting_required(AFFAIRS)
def cadre_list(request: ActingRequest) -> HttpResponse:
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
        return xlsx(
            request,
            name="cadre-posts",
            sheet=_("Cadre posts"),
            headers=[
                *student_headers(),
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
                    *student_cells(post.student),
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

    return listing(
        request,
        rows=rows,
        template="records/staff/cadre_list.html",
        context={"filters": filters},
        export=export,
    )


def _cadre_form(request: ActingRequest, initial: dict[str, Any]) -> forms.CadrePostForm:
    return forms.CadrePostForm(
        request.POST or None,
        school=request.acting.school,
        students=students_visible_to(request.acting),
        initial=initial,
    )


def _new_cadre_post(request: ActingRequest) -> dict[str, Any]:
    """The current term's dates, or those of ``?term=``; what "save and add another" kept."""
    term = Term.objects.last_started_for(request.acting.school)
    if wanted_term := parse_id(request.GET.get("term")):
        term = Term.objects.filter(school=request.acting.school, pk=wanted_term).first() or term
    return {
        "student": picked_student(request),
        "term": term,
        "starts_on": term.starts_on if term else None,
        "ends_on": term.ends_on if term else None,
        "unit": request.GET.get("unit", ""),
        "title": request.GET.get("title", ""),
        "level": request.GET.get("level", ""),
    }


def _another_cadre_post(request: ActingRequest, post: CadrePost) -> str | None:
    """After "save and add another": the same term and level again (and the unit, but for
    class posts, which differ by class)."""
    if "another" not in request.POST:
        return None
    query: dict[str, Any] = {"term": post.term_id, "level": post.level}
    if post.level != "2":
        query["unit"] = post.unit
    return back(reverse("staffrecords:cadre_add"), urlencode(query))


CADRE_POSTS = RecordKind(
    role=AFFAIRS,
    template="records/staff/cadre_form.html",
    form=_cadre_form,
    get=get_cadre_post_for,
    initial_for=lambda post: {
        name: getattr(post, name)
        for name in ("student", "term", "unit", "title", "level", "starts_on", "ends_on")
    },
    initial_new=_new_cadre_post,
    create=lambda request, data: services.cadre_post_create(
        school=request.acting.school, by=request.acting, **data
    ),
    update=lambda request, post, data: services.cadre_post_update(
        post=post, by=request.acting, **data
    ),
    delete=lambda request, post: services.cadre_post_delete(post=post, by=request.acting),
    added=gettext_lazy("Cadre post saved: %(record)s."),
    saved=gettext_lazy("Cadre post saved: %(record)s."),
    removed=gettext_lazy("Cadre post removed: %(record)s."),
    list_url=lambda post: reverse("staffrecords:cadre_list"),
    after_add=_another_cadre_post,
)
cadre_add, cadre_edit, cadre_delete = record_views(CADRE_POSTS)


# --- Clubs and their members ---------------------------------------------------------------


def _club_default_year(request: ActingRequest) -> SchoolYear | None:
    school = request.acting.school
    return (
        SchoolYear.objects.filter(school=school, roc_year=roc.current_school_year()).first()
        or SchoolYear.objects.filter(school=school).order_by("-roc_year").first()
    )


@acting_required(AFFAIRS)
def club_list(request: ActingRequest) -> HttpResponse:
    school = request.acting.school
    year = _club_default_year(request)
    filters = forms.ClubFilterForm(
        with_defaults(request, school_year=year.pk if year else None), school=school
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
        return xlsx(
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
                [year.roc_year if year else "", club.name, club.term1, club.term2, club.members]
                for club in rows
            ),
        )

    add_form = forms.ClubForm(school=school, initial={"school_year": year})
    return listing(
        request,
        rows=rows,
        template="records/staff/club_list.html",
        context={"filters": filters, "year": year, "add_form": add_form},
        export=export,
    )


@acting_required(AFFAIRS)
def club_add(request: ActingRequest) -> HttpResponse:
    school = request.acting.school
    form = forms.ClubForm(
        request.POST or None, school=school, initial={"school_year": _club_default_year(request)}
    )
    club = submit(
        request,
        form,
        lambda data: services.club_create(school=school, by=request.acting, **data),
    )
    if club is not None:
        messages.success(request, _("Club added: %(club)s.") % {"club": club})
        return redirect("staffrecords:club_detail", pk=club.pk)
    return render(request, "records/staff/club_form.html", {"form": form, "club": None})


@acting_required(AFFAIRS)
def club_edit(request: ActingRequest, pk: int) -> HttpResponse:
    club = get_club_for(request.acting, pk)
    form = forms.ClubRenameForm(request.POST or None, initial={"name": club.name})
    saved = submit(
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
def club_delete(request: ActingRequest, pk: int) -> HttpResponse:
    club = get_club_for(request.acting, pk)
    year_id, name = club.school_year_id, club.name
    removed = services.club_delete(club=club, by=request.acting)
    messages.success(
        request,
        _("Club removed: %(club)s, with %(count)s memberships.") % {"club": name, "count": removed},
    )
    return redirect(back(reverse("staffrecords:club_list"), urlencode({"school_year": year_id})))


def _club_terms(club: Club) -> list[Term]:
    return list(club.school_year.terms.order_by("number"))


@acting_required(AFFAIRS)
def club_detail(request: ActingRequest, pk: int) -> HttpResponse:
    """A club's members in one term; members are added here."""
    club = get_club_for(request.acting, pk)
    terms = _club_terms(club)
    default = last_started(terms)
    filters = forms.ClubMemberFilterForm(
        with_defaults(request, term=default.pk if default else None),
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
    added = submit(
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
            back(reverse("staffrecords:club_detail", args=[club.pk]), f"term={added.term_id}")
        )
    rows = filters.apply(
        ClubMembership.objects.filter(
            club=club, student__in=students_visible_to(request.acting)
        ).select_related("student__school_class", "term__school_year")
    )

    def export(rows: QuerySet) -> HttpResponse:
        return xlsx(
            request,
            name="club-members",
            sheet=club.name,
            headers=[_("Club"), _("Term"), *student_headers()],
            rows=(
                [club.name, m.term.label, *student_cells(m.student)]
                for m in rows.iterator(chunk_size=2000)
            ),
        )

    copy_form = None
    if len(terms) == 2:
        copy_form = forms.ClubCopyForm(
            club=club, initial={"from_term": terms[0], "to_term": terms[1]}
        )
    return listing(
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
def club_copy(request: ActingRequest, pk: int) -> HttpResponse:
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
    return redirect(back(url, f"term={to_term.pk}"))


@require_POST
@acting_required(AFFAIRS)
def club_member_delete(request: ActingRequest, pk: int) -> HttpResponse:
    membership = get_club_membership_for(request.acting, pk)
    club, term_id, student = membership.club, membership.term_id, membership.student
    services.club_member_remove(membership=membership, by=request.acting)
    messages.success(request, _("%(student)s left %(club)s.") % {"student": student, "club": club})
    return redirect(back(reverse("staffrecords:club_detail", args=[club.pk]), f"term={term_id}"))


# --- Attendance -----------------------------------------------------------------------------


@acting_required(AFFAIRS)
def attendance_list(request: ActingRequest) -> HttpResponse:
    """Students with their periods of absence in one term, by kind."""
    default = Term.objects.last_started_for(request.acting.school)
    filters = forms.AttendanceFilterForm(
        with_defaults(request, term=default.pk if default else None),
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

        def cells(student: Any) -> list[Any]:
            """A student annotated with ``total`` and ``term_attendance`` (above)."""
            periods = {row.kind: row.periods for row in student.term_attendance}
            return [
                *student_cells(student),
                label,
                *(periods.get(kind.value, 0) for kind in kinds),
                student.total or 0,
            ]

        return xlsx(
            request,
            name=f"attendance-{label}",
            sheet=_("Attendance"),
            headers=[
                *student_headers(),
                _("Term"),
                *(f"{kind.value} {kind.label}" for kind in kinds),
                _("Total periods"),
            ],
            rows=(cells(student) for student in rows.iterator(chunk_size=2000)),
        )

    return listing(
        request,
        rows=rows,
        template="records/staff/attendance_list.html",
        context={"filters": filters, "term": term},
        export=export,
    )


def _next_in_class(request: ActingRequest, student: Student) -> int | None:
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
def attendance_edit(request: ActingRequest, term_pk: int, student_pk: int) -> HttpResponse:
    """One student's whole term at once: periods for each kind of absence."""
    term = get_term_for(request.acting, term_pk)
    student = get_student_for(request.acting, student_pk)
    recorded = {
        row.kind: row.periods
        for row in AttendanceSummary.objects.filter(student=student, term=term)
    }
    form = forms.AttendanceForm(request.POST or None, initial=recorded)
    saved = submit(
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
        return redirect(back(reverse("staffrecords:attendance_list"), urlencode(query)))
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
