"""The simulated central database: the protocol's four endpoints and the receipt endpoint
(for the platform's ``http`` transport), and a page where a school's registry sees what the
simulator received and what it answered, makes receipts (收訖明細) and leaves instructions
that alter them. Everything answers 404 unless ``CENTRAL_SIMULATOR`` is on (on in
development, the demo and the tests; off by default in production)."""

import tempfile
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from centralsim import receipts, server
from centralsim.forms import TweakForm
from centralsim.models import SimReceipt, SimTweak, SimUpload
from portfolio.jobs import private_file_response
from portfolio.models import School, SchoolYear

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


@csrf_exempt
@require_POST
@simulation_only
def receipt(request: HttpRequest) -> JsonResponse:
    return _answer(lambda: receipts.receipt_fetch(_json_body(request)))


def _uploads_of(request: ActingRequest):
    return SimUpload.objects.filter(school_code=request.acting.school.code)


def _receipts_of(request: ActingRequest):
    return SimReceipt.objects.filter(school_code=request.acting.school.code)


def _tweaks_of(request: ActingRequest):
    return SimTweak.objects.filter(school_code=request.acting.school.code)


def _school_year(school: School) -> SchoolYear | None:
    """The school year a receipt is made for: the current one, else the latest set up."""
    return (
        SchoolYear.objects.current_for(school)
        or SchoolYear.objects.filter(school=school).order_by("-roc_year").first()
    )


def _received_page(request: ActingRequest, tweak_form: TweakForm | None = None) -> HttpResponse:
    context = {
        "uploads": _uploads_of(request)[:100],
        "receipts": _receipts_of(request)[:50],
        "tweaks": _tweaks_of(request)[:100],
        "tweak_form": tweak_form or TweakForm(),
        "school_year": _school_year(request.acting.school),
    }
    return render(request, "centralsim/received.html", context)


def _back(anchor: str) -> HttpResponse:
    return redirect(f"{reverse('centralsim:received')}#{anchor}")


@simulation_only
@acting_required(*VIEW_ROLES)
def received(request: ActingRequest) -> HttpResponse:
    return _received_page(request)


@simulation_only
@acting_required(*VIEW_ROLES)
def received_detail(request: ActingRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(_uploads_of(request), pk=pk)
    return render(request, "centralsim/received_detail.html", {"upload": found})


@require_POST
@simulation_only
@acting_required(*VIEW_ROLES)
def receipt_make(request: ActingRequest) -> HttpResponse:
    school = request.acting.school
    year = _school_year(school)
    if year is None:
        messages.error(request, _("The school has no school year set up yet."))
        return _back("receipts")
    try:
        made = receipts.receipt_make(school.code, year.roc_year)
    except server.Refused:
        messages.error(
            request,
            _(
                "The simulation has no accepted roster of school year %(year)s that comes back "
                "in a receipt (grades, course outcomes, performances or cadre posts): send one "
                "first."
            )
            % {"year": year.roc_year},
        )
        return _back("receipts")
    messages.success(
        request,
        _("The simulated central database made the receipt %(name)s.") % {"name": made.file_name},
    )
    return _back("receipts")


@simulation_only
@acting_required(*VIEW_ROLES)
def receipt_download(request: ActingRequest, pk: int) -> FileResponse:
    made = get_object_or_404(_receipts_of(request), pk=pk)
    return private_file_response(made.file, filename=made.file_name, content_type="application/zip")


@require_POST
@simulation_only
@acting_required(*VIEW_ROLES)
def tweak_add(request: ActingRequest) -> HttpResponse:
    form = TweakForm(request.POST)
    if not form.is_valid():
        return _received_page(request, tweak_form=form)
    tweak = receipts.tweak_add(
        school_code=request.acting.school.code,
        national_id_text=form.cleaned_data["national_id"],
        action=form.cleaned_data["action"],
        root=form.cleaned_data["root"],
    )
    messages.success(
        request,
        _("Instruction kept for %(student)s: %(action)s.")
        % {"student": tweak.national_id_masked, "action": tweak.get_action_display()},
    )
    return _back("tweaks")


@require_POST
@simulation_only
@acting_required(*VIEW_ROLES)
def tweak_delete(request: ActingRequest, pk: int) -> HttpResponse:
    tweak = get_object_or_404(_tweaks_of(request), pk=pk)
    receipts.tweak_delete(tweak=tweak)
    messages.success(
        request, _("Instruction for %(student)s deleted.") % {"student": tweak.national_id_masked}
    )
    return _back("tweaks")
