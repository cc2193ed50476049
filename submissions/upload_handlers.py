"""Stop receiving an uploaded file once it passes the school's limit, without storing the rest.

Django's own handlers store the whole upload (in memory, then in a temporary file) before the
view sees it: a 2 GB file would be written to disk only to be refused. `SizeLimitUploadHandler`,
placed first, counts each file's bytes as they arrive and stops the upload once one passes
`request.upload_limit_bytes`; Django then drains the rest of the body without keeping it, so the
view still answers and can say "this file is too large" (`request.upload_too_large` is True).

Install it before anything reads `request.POST`/`request.FILES`. The CSRF middleware reads
`request.POST` before the view runs, so the view must be `@csrf_exempt` and check the token
itself after installing the handler (Django's documented pattern):

    @csrf_exempt
    @acting_required("student")
    def outcome_upload(request, pk):
        limit_upload_size(request, max_bytes=mb_to_bytes(policy.document_max_mb))
        return _outcome_upload(request, pk)   # wrapped in @csrf_protect

    if getattr(request, "upload_too_large", False): ...  # FileRefused("too_large", ...)

It can also be listed first in settings.FILE_UPLOAD_HANDLERS; where no view set a limit it uses
`settings.SUBMISSION_UPLOAD_MAX_BYTES` if set, and otherwise lets everything through.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from submissions.files import FileRefused, mb_to_bytes


class SizeLimitUploadHandler(FileUploadHandler):
    """Passes chunks on to the next handler until a file passes the byte limit, then stops."""

    def __init__(self, request: HttpRequest | None = None, max_bytes: int | None = None):
        super().__init__(request)
        self._max_bytes = max_bytes

    @property
    def max_bytes(self) -> int | None:
        if self._max_bytes is not None:
            return self._max_bytes
        limit = getattr(self.request, "upload_limit_bytes", None)
        if limit is None:
            limit = getattr(settings, "SUBMISSION_UPLOAD_MAX_BYTES", None)
        return limit

    def new_file(self, field_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, *args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received = start + len(raw_data)
        limit = self.max_bytes
        if limit is not None and self.received > limit:
            if self.request is not None:
                # Read back with getattr: request attributes of this request only.
                setattr(self.request, "upload_too_large", True)  # noqa: B010
                setattr(self.request, "upload_too_large_field", self.field_name)  # noqa: B010
            # connection_reset=False: Django reads the rest of the body and throws it away, so
            # the browser gets our answer instead of a broken connection.
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler builds the file


def limit_upload_size(request: HttpRequest, *, max_bytes: int) -> None:
    """Refuse, while receiving, any file in this request larger than max_bytes."""
    setattr(request, "upload_limit_bytes", max_bytes)  # noqa: B010
    setattr(request, "upload_too_large", False)  # noqa: B010
    handlers = request.upload_handlers
    assert isinstance(handlers, list), "set the limit before the request body is read"
    handlers.insert(0, SizeLimitUploadHandler(request, max_bytes=max_bytes))


# --- what every upload page does with them ----------------------------------------------------


def policy_upload_limit(policy: Any) -> int:
    """The most any one file of a request may have under the school's policy; each kind of
    file is checked against its own limit afterwards."""
    return mb_to_bytes(max(policy.document_max_mb, policy.media_max_mb))


def add_too_large_error(
    request: HttpRequest, form: Any, policy: Any, *, unknown_field: str | None = None
) -> bool:
    """If the handler cut a file off: "too large" next to its field, in the words the file
    checks use; True then. A field other than document/media counts as ``unknown_field``
    (None: the form's general errors)."""
    if not getattr(request, "upload_too_large", False):
        return False
    field = getattr(request, "upload_too_large_field", None)
    if field not in ("document", "media"):
        field = unknown_field
    if field is None:
        form.add_error(None, _("The upload was too large and was not received."))
        return True
    max_mb = policy.document_max_mb if field == "document" else policy.media_max_mb
    refusal = FileRefused("too_large", {"kind": field, "max_bytes": mb_to_bytes(max_mb)})
    form.add_error(field, refusal.message())
    return True


def upload_done(request: HttpRequest, url: str) -> HttpResponse:
    """Where to go after a save: JSON for static/js/upload.js (which shows the progress bar,
    then goes there), a redirect otherwise."""
    if request.headers.get("x-requested-with") == "XMLHttpRequest":
        return JsonResponse({"redirect": url})
    return redirect(url)
