"""What the offices' record pages share: lists that filter, sort, page by 50 and export as
xlsx with the same filters (``?export=xlsx``), the student columns of those lists, the
student a page was opened for (``?student=<pk>``), and forms saved through a service."""

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.forms import Form
from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.acting import ActingRequest
from portfolio.exports import xlsx_response
from portfolio.forms import apply_errors
from portfolio.lib.numbers import parse_id
from records.access import students_visible_to
from records.models import Student

PAGE_SIZE = 50


def with_defaults(request: ActingRequest, **defaults: Any) -> QueryDict:
    data = request.GET.copy()
    for name, value in defaults.items():
        if value is not None and not data.get(name):
            data[name] = str(value)
    return data


def listing(
    request: ActingRequest,
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


def xlsx(
    request: ActingRequest,
    *,
    name: str,
    sheet: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> HttpResponse:
    filename = f"{request.acting.school.code}-{name}-{timezone.localdate():%Y%m%d}.xlsx"
    return xlsx_response(filename=filename, sheet=sheet, headers=headers, rows=rows)


def student_cells(student: Student) -> list[Any]:
    return [
        student.student_number,
        student.name,
        student.school_class.name if student.school_class is not None else "",
        student.seat_number,
    ]


def student_headers() -> list[str]:
    return [_("Student number"), _("Name"), _("Class"), _("Seat")]


def submit(request: ActingRequest, form: Form, save: Callable[[dict[str, Any]], Any]) -> Any:
    """On a POST of a valid form, run ``save`` with its data and return what it returns;
    a service's ValidationError goes next to the fields it names. None: show the form."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        return save(form.cleaned_data)
    except ValidationError as exc:
        apply_errors(form, exc)
        return None


def picked_student(request: ActingRequest) -> Student | None:
    """The student named by ``?student=<pk>``, when within the user's scope."""
    pk = parse_id(request.GET.get("student"))
    if pk is None:
        return None
    return students_visible_to(request.acting).select_related("school_class").filter(pk=pk).first()


def back(url: str, query: str = "") -> str:
    return f"{url}?{query}" if query else url
