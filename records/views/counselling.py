"""The counselling office (輔導處): career exploration with the 18 academic clusters."""

from django.db.models import QuerySet
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from records.access import classes_visible_to, get_career_record_for, students_visible_to
from records.forms import counselling as forms
from records.models import CareerExploration
from records.services import staff as services
from records.views.kinds import RecordKind, record_views
from records.views.lists import listing, picked_student, student_cells, student_headers, xlsx

COUNSELLOR = Role.COUNSELLOR


@acting_required(COUNSELLOR)
def career_list(request: ActingRequest) -> HttpResponse:
    filters = forms.CareerFilterForm(request.GET, classes=classes_visible_to(request.acting))
    student = picked_student(request)
    rows = CareerExploration.objects.filter(
        school=request.acting.school, student__in=students_visible_to(request.acting)
    ).select_related("student__school_class", "counsellor")
    if student is not None:
        rows = rows.filter(student=student)
    rows = filters.apply(rows)

    def export(rows: QuerySet) -> HttpResponse:
        return xlsx(
            request,
            name="career-exploration",
            sheet=_("Career exploration"),
            headers=[
                *student_headers(),
                _("Date"),
                _("Academic cluster codes"),
                _("Academic clusters"),
                _("Exploration and plans"),
                _("Counsellor"),
            ],
            rows=(
                [
                    *student_cells(r.student),
                    r.held_on,
                    ",".join(r.clusters),
                    "、".join(r.cluster_names),
                    r.content,
                    str(r.counsellor),
                ]
                for r in rows.iterator(chunk_size=2000)
            ),
        )

    return listing(
        request,
        rows=rows,
        template="records/staff/career_list.html",
        context={"filters": filters, "student": student},
        export=export,
    )


CAREER_RECORDS = RecordKind(
    role=COUNSELLOR,
    template="records/staff/career_form.html",
    form=lambda request, initial: forms.CareerRecordForm(
        request.POST or None, students=students_visible_to(request.acting), initial=initial
    ),
    get=get_career_record_for,
    initial_for=lambda record: {
        name: getattr(record, name) for name in ("student", "held_on", "clusters", "content")
    },
    initial_new=lambda request: {
        "student": picked_student(request),
        "held_on": timezone.localdate(),
    },
    create=lambda request, data: services.career_record_create(
        school=request.acting.school,
        counsellor=request.acting.principal,
        by=request.acting,
        **data,
    ),
    update=lambda request, record, data: services.career_record_update(
        record=record, by=request.acting, **data
    ),
    delete=lambda request, record: services.career_record_delete(record=record, by=request.acting),
    added=gettext_lazy("Career exploration recorded: %(record)s."),
    saved=gettext_lazy("Career exploration saved: %(record)s."),
    removed=gettext_lazy("Career exploration removed: %(record)s."),
    list_url=lambda record: reverse("staffrecords:career_list"),
)
career_add, career_edit, career_delete = record_views(CAREER_RECORDS)
