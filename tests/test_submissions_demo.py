"""The demo's portfolios: every outcome state, real files that match their checksums, the
school-entered posts outside the cap, and nothing added by a second run."""

import hashlib

from django.core.files.storage import default_storage
from django.core.management import call_command

from submissions.models import (
    CourseOutcome,
    OutcomeState,
    Performance,
    PerformanceSource,
    StoredFile,
)
from submissions.performance_categories import validate_details


def test_demo_portfolios_are_complete_and_idempotent(db, storage_dir):
    call_command("seed_demo", verbosity=0)
    assert set(CourseOutcome.objects.values_list("state", flat=True)) == {
        OutcomeState.DRAFT,
        OutcomeState.SUBMITTED,
        OutcomeState.CERTIFIED,
        OutcomeState.REJECTED,
    }
    for outcome in CourseOutcome.objects.filter(state=OutcomeState.CERTIFIED):
        assert outcome.certified_by is not None and outcome.certified_at is not None
    assert all(o.rejection_reason for o in CourseOutcome.objects.filter(state="rejected"))
    school_entered = Performance.objects.filter(source=PerformanceSource.SCHOOL)
    assert school_entered.exists() and not any(p.counts_toward_cap for p in school_entered)
    for performance in Performance.objects.all():
        assert validate_details(performance.category, performance.details) == {}
    for stored in StoredFile.objects.all():
        with default_storage.open(stored.storage_path) as handle:
            assert hashlib.sha256(handle.read()).hexdigest() == stored.sha256
    counts = (
        CourseOutcome.objects.count(),
        Performance.objects.count(),
        StoredFile.objects.count(),
    )
    files = sorted(p.name for p in storage_dir.rglob("*") if p.is_file())
    call_command("seed_demo", verbosity=0)
    assert (
        CourseOutcome.objects.count(),
        Performance.objects.count(),
        StoredFile.objects.count(),
    ) == counts
    assert sorted(p.name for p in storage_dir.rglob("*") if p.is_file()) == files
