"""Course consultants (課程諮詢教師): the students of the classes they consult, and their
consultation records."""

import datetime as dt

from django.db.models import Count, Max, Q, QuerySet
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from records.access import classes_visible_to, get_consultation_for, students_visible_to
from records.forms import consultants as forms
from records.models import Consultation
from records.services import staff as services
from records.views.kinds import RecordKind, record_views
from records.views.lists import back, listing, picked_student, student_cells, student_headers, xlsx

CONSULTANT = Role.CONSULTANT


@acting_required(CONSULTANT)
def consultation_students(request: ActingRequest) -> HttpResponse:
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
        return xlsx(
            request,
            name="consultation-students",
            sheet=_("My students"),
            headers=[*student_headers(), _("Records"), _("Last consulted")],
            rows=(
                [*student_cells(student), student.records, student.last_at]
                for student in rows.iterator(chunk_size=2000)
            ),
        )

    return listing(
        request,
        rows=rows,
        template="records/staff/consultation_students.html",
        context={"filters": filters, "class_count": classes_visible_to(request.acting).count()},
        export=export,
    )


@acting_required(CONSULTANT)
def consultation_list(request: ActingRequest) -> HttpResponse:
    filters = forms.ConsultationFilterForm(request.GET, classes=classes_visible_to(request.acting))
    student = picked_student(request)
    rows = Consultation.objects.filter(
        school=request.acting.school,
        consultant=request.acting.principal,
        student__in=students_visible_to(request.acting),
    ).select_related("student__school_class")
    if student is not None:
        rows = rows.filter(student=student)
    rows = filters.apply(rows)

    def export(rows: QuerySet) -> HttpResponse:
        return xlsx(
            request,
            name="consultations",
            sheet=_("Consultation records"),
            headers=[
                *student_headers(),
                _("Date and time"),
                _("Place"),
                _("Content"),
                _("Advice"),
            ],
            rows=(
                [*student_cells(r.student), r.held_at, r.place, r.content, r.advice]
                for r in rows.iterator(chunk_size=2000)
            ),
        )

    return listing(
        request,
        rows=rows,
        template="records/staff/consultation_list.html",
        context={"filters": filters, "student": student},
        export=export,
    )


def _now_to_the_minute() -> dt.datetime:
    return timezone.localtime().replace(second=0, microsecond=0)


CONSULTATIONS = RecordKind(
    role=CONSULTANT,
    template="records/staff/consultation_form.html",
    form=lambda request, initial: forms.ConsultationForm(
        request.POST or None, students=students_visible_to(request.acting), initial=initial
    ),
    get=get_consultation_for,
    initial_for=lambda record: {
        "student": record.student,
        "held_at": timezone.localtime(record.held_at),
        "place": record.place,
        "content": record.content,
        "advice": record.advice,
    },
    initial_new=lambda request: {
        "student": picked_student(request),
        "held_at": _now_to_the_minute(),
    },
    create=lambda request, data: services.consultation_create(
        school=request.acting.school,
        consultant=request.acting.principal,
        by=request.acting,
        **data,
    ),
    update=lambda request, record, data: services.consultation_update(
        record=record, by=request.acting, **data
    ),
    delete=lambda request, record: services.consultation_delete(record=record, by=request.acting),
    added=gettext_lazy("Consultation recorded: %(record)s."),
    saved=gettext_lazy("Consultation saved: %(record)s."),
    removed=gettext_lazy("Consultation record removed: %(record)s."),
    list_url=lambda record: back(
        reverse("staffrecords:consultation_list"), f"student={record.student_id}"
    ),
    add_context=lambda request: {"class_count": classes_visible_to(request.acting).count()},
)
consultation_add, consultation_edit, consultation_delete = record_views(CONSULTATIONS)
