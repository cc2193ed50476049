"""Homeroom teachers (導師): the roster of the classes they lead."""

from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from portfolio.lib import roc
from portfolio.models import Term, last_started
from records.access import classes_visible_to
from records.forms import homeroom as forms
from records.models import CourseEnrolment, Student
from records.views.lists import with_defaults, xlsx

HOMEROOM = Role.HOMEROOM


@acting_required(HOMEROOM)
def roster(request: ActingRequest) -> HttpResponse:
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
    default_term = last_started(terms)
    filters = forms.RosterFilterForm(
        with_defaults(
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
        return xlsx(
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
