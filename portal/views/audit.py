"""The school's audit log, for its administrator."""

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from portfolio.models import AuditLog

ADMIN = Role.SCHOOL_ADMIN


@acting_required(ADMIN)
def audit_list(request: ActingRequest) -> HttpResponse:
    entries = AuditLog.objects.filter(school=request.acting.school).select_related(
        "actor", "on_behalf_of"
    )
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "portal/audit_list.html", {"page": page})
