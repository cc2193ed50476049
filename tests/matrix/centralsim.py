"""Rows for the simulated central database: its protocol endpoints answer anyone (the
platform's transport signs nothing in; the protocol's own keys decide), refusing a request
that carries nothing with 400; its pages show a school's registry, student affairs and
administrator what it received of their school, the receipts it made for it (made and
downloaded there) and the instructions that alter them."""

from django.core.files.base import ContentFile

from accounts.models import Role
from centralsim.models import SimReceipt, SimTweak, SimUpload
from tests.matrix import everyone, only

R = Role


def build(world, make_member):
    upload = SimUpload(
        school_code=world["school"].code, roc_year=world["term"].school_year.roc_year, term=0,
        roster=26, file_name="matrix.xlsx", sha256="0" * 64,
    )  # fmt: skip
    upload.file.save("matrix.xlsx", ContentFile(b"PK"), save=True)
    world["sim_upload"] = upload
    made = SimReceipt(
        school_code=world["school"].code, roc_year=upload.roc_year, file_name="matrix.zip",
        sha256="0" * 64, password="matrix-password",
    )  # fmt: skip
    made.file.save("matrix.zip", ContentFile(b"PK"), save=True)
    world["sim_receipt"] = made
    world["sim_tweak"] = SimTweak.objects.create(
        school_code=world["school"].code, national_id_hash="0" * 64,
        national_id_masked="A12****789", action="drop",
    )  # fmt: skip


OFFICES = {R.REGISTRY: 200, R.STUDENT_AFFAIRS: 200, R.SCHOOL_ADMIN: 200}
OFFICES_POST = dict.fromkeys(OFFICES, 302)

ROWS = {
    "centralsim:public_key": ("post", None, everyone(200)),
    "centralsim:upload": ("post", None, everyone(400)),
    "centralsim:file_ready": ("post", None, everyone(400)),
    "centralsim:status": ("post", None, everyone(400)),
    "centralsim:receipt": ("post", None, everyone(400)),
    # Lists show the acting school's own files: 200 for another school's office.
    "centralsim:received": ("get", None, only(OFFICES, outsider=200, outsider_role=R.REGISTRY)),
    "centralsim:received_detail": (
        "get",
        lambda w: {"pk": w["sim_upload"].pk},
        only(OFFICES, outsider=404, outsider_role=R.REGISTRY),
    ),
    # Made for the acting school's own rosters: another school's office is told it has none.
    "centralsim:receipt_make": (
        "post",
        None,
        only(OFFICES_POST, outsider=302, outsider_role=R.REGISTRY),
    ),
    "centralsim:receipt_download": (
        "get",
        lambda w: {"pk": w["sim_receipt"].pk},
        only(OFFICES, outsider=404, outsider_role=R.REGISTRY),
    ),
    # An empty form comes back with its errors.
    "centralsim:tweak_add": ("post", None, only(OFFICES, outsider=200, outsider_role=R.REGISTRY)),
    "centralsim:tweak_delete": (
        "post",
        lambda w: {"pk": w["sim_tweak"].pk},
        only(OFFICES_POST, outsider=404, outsider_role=R.REGISTRY),
    ),
}
