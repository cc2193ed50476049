"""The student's learning portfolio as a section of the student's record for staff."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.acting import ActingContext
from records.models import Student
from records.sections import RecordSection, register
from submissions.selectors import portfolio_for
from submissions.services.extensions import GRANT_ROLES


def _portfolio(acting: ActingContext, student: Student) -> dict:
    return {
        "portfolio": portfolio_for(student, now=timezone.now()),
        "may_open_window_late": acting.role in GRANT_ROLES,
    }


register(
    RecordSection(
        anchor="portfolio",
        label=_("Learning portfolio"),
        template="submissions/_staff_portfolio.html",
        context=_portfolio,
    )
)
