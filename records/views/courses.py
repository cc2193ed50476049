"""The curriculum office's pages: the courses of a term and the course-code check.

The curriculum office (教學組) edits; the registry (註冊組) may look. Every object is
fetched through a ``get_<thing>_for`` helper limited to the acting school (404 otherwise).
"""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role, User
from portfolio.access import get_term_for
from portfolio.exports import xlsx_response
from portfolio.forms import apply_errors
from portfolio.lib import course_code
from portfolio.lib.numbers import parse_id
from portfolio.lib.text import search_text
from portfolio.models import School, Term
from records.access import get_check_for, get_course_for
from records.forms.courses import CodeListUploadForm, CourseForm
from records.models import Course, CourseCodeCheck, CourseCodeList
from records.services import courses as services

CURRICULUM = Role.CURRICULUM
VIEWERS = (Role.CURRICULUM, Role.REGISTRY)
PER_PAGE = 50
COURSE_SORTS = {
    "grade": ("grade", "code", "section"),
    "code": ("code", "section"),
    "name": ("name", "code", "section"),
    "credits": ("credits", "code", "section"),
    "changed": ("-changed_at", "code", "section"),
}
FINDING_SORTS = {
    "severity": lambda f: (f.get("severity") != services.ERROR, f["code"], f.get("section", "")),
    "code": lambda f: (f["code"], f.get("section", "")),
    "name": lambda f: (f["name"], f["code"]),
}


def _term_from(request: ActingRequest, value: str | None) -> Term | None:
    if (pk := parse_id(value)) is not None:
        return get_term_for(request.acting, pk)
    return Term.objects.current_for(request.acting.school)


def _school_terms(school: School) -> list[Term]:
    return list(
        Term.objects.filter(school=school)
        .select_related("school_year")
        .order_by("-school_year__roc_year", "-number")
    )


def _can_edit(request: ActingRequest) -> bool:
    return request.acting.role == CURRICULUM


# --- Courses --------------------------------------------------------------------------------


def _course_filters(request: ActingRequest) -> dict[str, Any]:
    grade = request.GET.get("grade", "")
    sort = request.GET.get("sort", "grade")
    return {
        "grade": int(grade) if grade in {"10", "11", "12"} else None,
        "q": search_text(request.GET.get("q"), max_length=50),
        "sort": sort if sort in COURSE_SORTS else "grade",
    }


def _courses(term: Term | None, filters: dict[str, Any]) -> QuerySet[Any]:
    """The term's courses as filtered, each annotated with ``students`` (how many)."""
    if term is None:
        return Course.objects.none()
    courses = Course.objects.filter(term=term)
    if filters["grade"]:
        courses = courses.filter(grade=filters["grade"])
    if filters["q"]:
        courses = courses.filter(
            Q(code__icontains=filters["q"])
            | Q(name__icontains=filters["q"])
            | Q(section__icontains=filters["q"])
        )
    return (
        courses.annotate(students=Count("enrolments"))
        .prefetch_related(Prefetch("teachers", queryset=User.objects.order_by("name", "username")))
        .order_by(*COURSE_SORTS[filters["sort"]])
    )


@acting_required(*VIEWERS)
def course_list(request: ActingRequest) -> HttpResponse:
    school = request.acting.school
    term = _term_from(request, request.GET.get("term"))
    filters = _course_filters(request)
    page = Paginator(_courses(term, filters), PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        (course, course_code.problems(course.code, school_code=school.code))
        for course in page.object_list
    ]
    return render(
        request,
        "records/courses/list.html",
        {
            "terms": _school_terms(school),
            "term": term,
            "filters": filters,
            "page": page,
            "rows": rows,
            "can_edit": _can_edit(request),
            "status": services.course_code_check_status(term) if term else None,
        },
    )


@acting_required(*VIEWERS)
def course_export(request: ActingRequest) -> HttpResponse:
    school = request.acting.school
    term = _term_from(request, request.GET.get("term"))
    courses = _courses(term, _course_filters(request))
    label = term.label if term else ""
    return xlsx_response(
        filename=f"{school.code}_{label}_courses.xlsx",
        sheet=_("Courses"),
        headers=[
            _("Term"),
            _("Course code"),
            _("Section"),
            _("Subject name"),
            _("Grade offered"),
            _("Credits"),
            _("Teachers"),
            _("Students"),
            _("Code problems"),
            _("Last changed"),
        ],
        rows=(
            [
                label,
                course.code,
                course.section,
                course.name,
                course.grade,
                course.credits,
                ", ".join(str(t) for t in course.teachers.all()),
                course.students,
                " ".join(
                    services.problem_messages(
                        course.code,
                        course_code.problems(course.code, school_code=school.code),
                        school_code=school.code,
                    )
                ),
                course.changed_at,
            ]
            for course in courses
        ),
    )


def _list_url(term: Term) -> str:
    return f"{reverse('courses:list')}?{urlencode({'term': term.pk})}"


@acting_required(CURRICULUM)
def course_add(request: ActingRequest) -> HttpResponse:
    school = request.acting.school
    initial: dict[str, Any] = {}
    term = _term_from(request, request.GET.get("term"))
    if term is not None:
        initial["term"] = term
    form = CourseForm(request.POST or None, school=school, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            course = services.course_create(school=school, by=request.acting, **data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Course added: %(course)s.") % {"course": course})
            if "another" in request.POST:
                return redirect(f"{reverse('courses:add')}?{urlencode({'term': course.term_id})}")
            return redirect(_list_url(course.term))
    return render(request, "records/courses/form.html", {"form": form, "course": None})


@acting_required(CURRICULUM)
def course_edit(request: ActingRequest, pk: int) -> HttpResponse:
    course = get_course_for(request.acting, pk)
    initial = {
        "term": course.term,
        "code": course.code,
        "section": course.section,
        "name": course.name,
        "grade": course.grade,
        "credits": course.credits,
        "teachers": list(course.teachers.all()),
    }
    form = CourseForm(
        request.POST or None, school=request.acting.school, course=course, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("term")
        try:
            services.course_update(course=course, by=request.acting, **data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Course saved: %(course)s.") % {"course": course})
            return redirect(_list_url(course.term))
    problems = course_code.problems(course.code, school_code=course.school.code)
    return render(
        request,
        "records/courses/form.html",
        {
            "form": form,
            "course": course,
            "code_problems": services.problem_messages(
                course.code, problems, school_code=course.school.code
            ),
        },
    )


@acting_required(CURRICULUM)
def course_delete(request: ActingRequest, pk: int) -> HttpResponse:
    """GET asks to confirm, saying what goes with the course; POST removes it."""
    course = get_course_for(request.acting, pk)
    counts = course.enrolments.aggregate(
        students=Count("pk"), graded=Count("pk", filter=Q(score__isnull=False))
    )
    error = ""
    if request.method == "POST":
        term = course.term
        label = str(course)
        try:
            services.course_delete(course=course, by=request.acting)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, _("Course removed: %(course)s.") % {"course": label})
            return redirect(_list_url(term))
    return render(
        request,
        "records/courses/delete.html",
        {"course": course, "counts": counts, "error": error},
    )


# --- The course-code check ------------------------------------------------------------------


def _findings_page(request: ActingRequest, check: CourseCodeCheck | None) -> dict[str, Any]:
    """The findings of ``check``, filtered, sorted and paged, with their fix in words."""
    if check is None:
        return {"findings": None, "severity": "", "sort": "severity"}
    severity = request.GET.get("severity", "")
    sort = request.GET.get("sort", "severity")
    sort = sort if sort in FINDING_SORTS else "severity"
    findings = list(check.findings)
    if severity in {services.ERROR, services.WARNING}:
        findings = [f for f in findings if f.get("severity", services.ERROR) == severity]
    findings.sort(key=FINDING_SORTS[sort])
    page = Paginator(findings, PER_PAGE).get_page(request.GET.get("page"))
    school_code = request.acting.school.code
    list_name = check.code_list.file_name if check.code_list else ""
    rows = [
        {
            **finding,
            "severity": finding.get("severity", services.ERROR),
            "messages": services.problem_messages(
                finding["code"], finding["problems"], school_code=school_code, list_name=list_name
            ),
        }
        for finding in page.object_list
    ]
    return {"findings": page, "rows": rows, "severity": severity, "sort": sort}


def _check_context(
    request: ActingRequest, term: Term | None, *, upload_form: CodeListUploadForm | None = None
) -> dict[str, Any]:
    school = request.acting.school
    runs: list[CourseCodeCheck] = []
    code_list = None
    status = None
    if term is not None:
        runs = list(
            CourseCodeCheck.objects.filter(term=term)
            .select_related("ran_by", "code_list")
            .order_by("-ran_at", "-pk")[:20]
        )
        code_list = (
            CourseCodeList.objects.filter(term=term)
            .select_related("uploaded_by")
            .order_by("-uploaded_at", "-pk")
            .first()
        )
        status = services.course_code_check_status(term)
    latest = runs[0] if runs else None
    return {
        "terms": _school_terms(school),
        "term": term,
        "status": status,
        "runs": [_run_summary(run) for run in runs],
        "check": latest,
        "code_list": code_list,
        "upload_form": upload_form or CodeListUploadForm(),
        "can_edit": _can_edit(request),
        "courses": Course.objects.filter(term=term).count() if term else 0,
        **_findings_page(request, latest),
    }


def _run_summary(run: CourseCodeCheck) -> dict[str, Any]:
    errors = len(services.findings_errors(run.findings))
    return {
        "run": run,
        "errors": errors,
        "warnings": len(run.findings) - errors,
        "passed": errors == 0,
    }


@acting_required(*VIEWERS)
def check(request: ActingRequest) -> HttpResponse:
    term = _term_from(request, request.GET.get("term"))
    return render(request, "records/courses/check.html", _check_context(request, term))


def _check_url(term: Term) -> str:
    return f"{reverse('courses:check')}?{urlencode({'term': term.pk})}"


@require_POST
@acting_required(CURRICULUM)
def check_upload(request: ActingRequest, term_pk: int) -> HttpResponse:
    term = get_term_for(request.acting, term_pk)
    form = CodeListUploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = services.code_list_upload(
                school=request.acting.school,
                term=term,
                file_name=upload.name,
                content=upload.read(),
                by=request.acting,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            _report_upload(request, result)
            return redirect(_check_url(term))
    context = _check_context(request, term, upload_form=form)
    return render(request, "records/courses/check.html", context)


def _report_upload(request: ActingRequest, result: services.CodeListUpload) -> None:
    school_code = request.acting.school.code
    messages.success(
        request,
        _("List %(file)s kept: %(n)s course codes. Run the check to compare the courses with it.")
        % {"file": result.code_list.file_name, "n": len(result.code_list.codes)},
    )
    shown = result.rejected[:10]
    for item in shown:
        messages.warning(
            request,
            _("Line %(line)s (%(text)s) left out: %(why)s")
            % {
                "line": item.line,
                "text": item.text,
                "why": " ".join(
                    services.problem_messages(item.text, item.problems, school_code=school_code)
                ),
            },
        )
    if len(result.rejected) > len(shown):
        messages.warning(
            request,
            _("%(n)s more lines were left out for the same kinds of reason.")
            % {"n": len(result.rejected) - len(shown)},
        )


@require_POST
@acting_required(CURRICULUM)
def check_run(request: ActingRequest, term_pk: int) -> HttpResponse:
    term = get_term_for(request.acting, term_pk)
    run = services.code_check_run(term=term, by=request.acting)
    errors = len(services.findings_errors(run.findings))
    if errors:
        messages.warning(
            request,
            _("Check done: %(n)s of %(total)s courses need fixing.")
            % {"n": errors, "total": run.courses_checked},
        )
    else:
        messages.success(
            request,
            _("Check done: all %(total)s courses passed.") % {"total": run.courses_checked},
        )
    return redirect("courses:check_detail", pk=run.pk)


@acting_required(*VIEWERS)
def check_detail(request: ActingRequest, pk: int) -> HttpResponse:
    run = get_check_for(request.acting, pk)
    context = {
        "term": run.term,
        "check": run,
        "summary": _run_summary(run),
        "can_edit": _can_edit(request),
        **_findings_page(request, run),
    }
    return render(request, "records/courses/check_detail.html", context)


@acting_required(*VIEWERS)
def check_export(request: ActingRequest, pk: int) -> HttpResponse:
    run = get_check_for(request.acting, pk)
    school_code = request.acting.school.code
    list_name = run.code_list.file_name if run.code_list else ""
    severity_label = {
        services.ERROR: _("Must fix"),
        services.WARNING: pgettext("course-code finding", "Note"),
    }
    stamp = timezone.localtime(run.ran_at).strftime("%Y%m%d_%H%M")
    return xlsx_response(
        filename=f"{school_code}_{run.term.label}_course_code_check_{stamp}.xlsx",
        sheet=_("Course-code check"),
        headers=[
            _("Course code"),
            _("Section"),
            _("Subject name"),
            _("Kind"),
            _("Problems"),
            _("What to fix"),
        ],
        rows=(
            [
                f["code"],
                f.get("section", ""),
                f["name"],
                severity_label.get(f.get("severity", services.ERROR), ""),
                ", ".join(f["problems"]),
                " ".join(
                    services.problem_messages(
                        f["code"], f["problems"], school_code=school_code, list_name=list_name
                    )
                ),
            ]
            for f in run.findings
        ),
    )
