"""The simulated central database: the protocol's four endpoints (for the platform's ``http``
transport) and a page where a school's registry sees what the simulator received and what it
answered. Everything answers 404 unless ``CENTRAL_SIMULATOR`` is on (on in development, the
demo and the tests; off by default in production)."""

import tempfile
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from centralsim import server
from centralsim.models import SimUpload

# The largest request body the endpoints read (a roster's files zip is the big one).
MAX_UPLOAD = 2 * 1024 * 1024 * 1024
MAX_JSON = 4 * 1024 * 1024
VIEW_ROLES = (Role.REGISTRY, Role.STUDENT_AFFAIRS, Role.SCHOOL_ADMIN)


def simulation_only(view: Callable) -> Callable:
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if not settings.CENTRAL_SIMULATOR:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


def _answer(call: Callable[[], dict]) -> JsonResponse:
    try:
        return JsonResponse(call(), json_dumps_params={"ensure_ascii": False})
    except server.Refused as refusal:
        return JsonResponse(
            {"狀態": "error", "錯誤": str(refusal), "說明": server.SIMULATION}, status=400
        )


def _too_large() -> dict:
    raise server.Refused("file too large")


def _json_body(request: HttpRequest) -> bytes:
    body = request.read(MAX_JSON + 1)  # Django bounds the stream by its Content-Length
    if len(body) > MAX_JSON:
        raise server.Refused("request too large")
    return body


@csrf_exempt
@require_POST
@simulation_only
def public_key(request: HttpRequest) -> JsonResponse:
    return _answer(server.public_key)


@csrf_exempt
@require_POST
@simulation_only
def upload(request: HttpRequest) -> JsonResponse:
    with tempfile.TemporaryFile() as body:
        size = 0
        while block := request.read(64 * 1024):  # bounded by the request's Content-Length
            size += len(block)
            if size > MAX_UPLOAD:
                return _answer(_too_large)
            body.write(block)
        body.seek(0)
        return _answer(
            lambda: server.upload(
                request.GET.get("GUID", ""), request.GET.get("FileName", ""), body
            )
        )


@csrf_exempt
@require_POST
@simulation_only
def file_ready(request: HttpRequest) -> JsonResponse:
    return _answer(lambda: server.file_ready(_json_body(request)))


@csrf_exempt
@require_POST
@simulation_only
def status(request: HttpRequest) -> JsonResponse:
    return _answer(lambda: server.status(_json_body(request)))


def _uploads_of(request: ActingRequest):
    return SimUpload.objects.filter(school_code=request.acting.school.code)


@simulation_only
@acting_required(*VIEW_ROLES)
def received(request: ActingRequest) -> HttpResponse:
    uploads = _uploads_of(request)[:100]
    return render(request, "centralsim/received.html", {"uploads": uploads})


@simulation_only
@acting_required(*VIEW_ROLES)
def received_detail(request: ActingRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(_uploads_of(request), pk=pk)
    return render(request, "centralsim/received_detail.html", {"upload": found})
