"""What the simulated central database keeps: its key, the sessions of the upload protocol,
and each file received with what its check found.

A simulation for the demo and the tests, never the real central database: every page and
answer says so, and nothing here is reachable unless ``CENTRAL_SIMULATOR`` is on.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


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
