"""The student's learning portfolio as a section of the student's record for staff."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from records.models import Student
from records.sections import RecordSection, register
from submissions.services.portfolio import portfolio_for


def _portfolio(student: Student) -> dict:
    return {"portfolio": portfolio_for(student, now=timezone.now())}


register(
    RecordSection(
        anchor="portfolio",
        label=_("Learning portfolio"),
        template="submissions/_staff_portfolio.html",
        context=_portfolio,
    )
)
