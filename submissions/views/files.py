"""A stored file, downloaded or shown inline, to whoever may open it (404 for anyone else)."""

from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from portfolio.audit import audit_write
from submissions.access import FILE_ROLES, get_file_for
from submissions.models import StoredFile
from submissions.serving import is_first_read, serve_stored_file


def _audit_staff_read(request: ActingRequest, stored: StoredFile, *, inline: bool) -> None:
    """Staff opening a student's file is recorded once per opening (not per seek); a
    student's reads of their own files are not recorded."""
    if request.acting.role == Role.STUDENT or not is_first_read(request):
        return
    audit_write(
        school=stored.school,
        by=request.acting,
        action="file.view",
        target=stored,
        changes={"student": stored.student_id, "inline": inline},
    )


def _serve(request: ActingRequest, pk: int, *, inline: bool) -> HttpResponseBase:
    stored = get_file_for(request.acting, pk)
    response = serve_stored_file(request, stored, inline=inline)
    if response.status_code < 400:
        _audit_staff_read(request, stored, inline=inline)
    return response


@require_GET
@acting_required(*FILE_ROLES)
def download(request: ActingRequest, pk: int) -> HttpResponseBase:
    return _serve(request, pk, inline=False)


@require_GET
@acting_required(*FILE_ROLES)
def inline(request: ActingRequest, pk: int) -> HttpResponseBase:
    """For previews in pages: images, PDFs, audio and video (range requests for seeking)."""
    return _serve(request, pk, inline=True)
