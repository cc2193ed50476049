"""What the simulated central database keeps: its key, the sessions of the upload protocol,
each file received with what its check found, the receipts it made and the instructions
that alter them.

A simulation for the demo and the tests, never the real central database: every page and
answer says so, and nothing here is reachable unless ``CENTRAL_SIMULATOR`` is on.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from portfolio.crypto import EncryptedTextField
from submissions.central.receipt import ROOTS


class SimKey(models.Model):
    """The simulator's RSA key pair (PEM), made on first use; its public half goes out with
    each GUID."""

    pem = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"simulator key {self.created_at:%Y-%m-%d}"


class SimSession(models.Model):
    """One GUID of the protocol: handed out with the key, then carrying one upload, then used
    up by the request that names it."""

    guid = models.CharField(max_length=36, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    upload_name = models.CharField(max_length=200, blank=True)
    sealed = models.FileField(upload_to="centralsim/sealed/", blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.guid


class SimUpload(models.Model):
    """A file the simulator received whole (its signature matched); its pk is the FID."""

    school_code = models.CharField(_("school code"), max_length=6)
    roc_year = models.PositiveSmallIntegerField(_("school year"))
    term = models.PositiveSmallIntegerField(_("term"))
    roster = models.PositiveSmallIntegerField(_("roster code"))
    file_name = models.CharField(_("file name"), max_length=200)
    file = models.FileField(upload_to="centralsim/received/")
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    # What the check found: [{roster, row, sheet, field, value, message, code}].
    problems = models.JSONField(default=list, blank=True)
    # How often the school asked for the answer: the first answer is always "still checking".
    polls = models.PositiveIntegerField(default=0)
    via = models.CharField(max_length=16, default="http")

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("file received by the simulated central database")

    def __str__(self) -> str:
        return self.file_name

    @property
    def is_accepted(self) -> bool:
        return not self.problems


class TweakAction(models.TextChoices):
    DROP = "drop", _("Drop the student's first line")
    ALTER = "alter", _("Alter the student's first line")


class SimTweak(models.Model):
    """An instruction the simulator keeps for a school's receipts: lose or change one
    student's first line, so that the school's receipt check has something to find. It
    applies to every receipt made for the school until it is deleted.

    The student is named by the keyed hash of the national ID (and shown masked): the
    simulator keeps no national ID in clear."""

    school_code = models.CharField(_("school code"), max_length=6)
    national_id_hash = models.CharField(max_length=64)
    national_id_masked = models.CharField(_("national ID (masked)"), max_length=10)
    action = models.CharField(_("instruction"), max_length=8, choices=TweakAction.choices)
    # Blank: the first root, in ROOTS order, where the student has lines.
    root = models.CharField(
        _("kind"), max_length=8, blank=True, choices=[(root, root) for root in ROOTS]
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("instruction for the simulated receipts")

    def __str__(self) -> str:
        return f"{self.school_code} {self.national_id_masked} {self.action} {self.root}"


class SimReceipt(models.Model):
    """A receipt (收訖明細) the simulator made for a school year: the zip, and the password
    the simulated central database hands the school with it."""

    school_code = models.CharField(_("school code"), max_length=6)
    roc_year = models.PositiveSmallIntegerField(_("school year"))
    file = models.FileField(upload_to="centralsim/receipts/")
    file_name = models.CharField(_("file name"), max_length=200)
    sha256 = models.CharField(max_length=64)
    password = EncryptedTextField(_("password"))
    # {"students": n, "lines": {root: n}, "dropped": n, "altered": n}
    counts = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("receipt made by the simulated central database")

    def __str__(self) -> str:
        return self.file_name
