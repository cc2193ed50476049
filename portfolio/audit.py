"""The one way to write the audit trail, and the words each entry is read in.

Every service that changes data calls ``audit_write`` (or ``update_audited``). Each action
code an app writes is registered with a label, grouped by area, from the app's
``ready()`` (``register_actions``), as job kinds are: the core names no app's actions,
and the audit page reads every code in the reader's language (a code no longer
registered, from an older version, shows as it is).
"""

import dataclasses
from typing import Any

from django.db import models
from django.utils.functional import Promise

from portfolio.actor import Actor
from portfolio.models import AuditLog, School


def audit_write(
    *,
    school: School | None,
    by: Actor | None,
    action: str,
    target: models.Model | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditLog:
    """Record an action; ``by`` None means the system (a periodic task)."""
    entry = _entry(school=school, by=by, action=action, target=target, changes=changes)
    entry.save()
    return entry


def audit_write_many(
    *,
    school: School,
    by: Actor | None,
    action: str,
    entries: list[tuple[models.Model, dict[str, Any]]],
) -> None:
    """Record one ``action`` on many targets at once (a periodic task's batch), one row each:
    ``entries`` are (target, changes) pairs."""
    AuditLog.objects.bulk_create(
        [
            _entry(school=school, by=by, action=action, target=target, changes=changes)
            for target, changes in entries
        ]
    )


def _entry(
    *,
    school: School | None,
    by: Actor | None,
    action: str,
    target: models.Model | None,
    changes: dict[str, Any] | None,
) -> AuditLog:
    return AuditLog(
        school=school,
        actor=by.user if by else None,
        on_behalf_of=by.on_behalf_of if by else None,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:200] if target is not None else "",
        changes=changes or {},
    )


def update_audited(
    instance: models.Model,
    data: dict[str, Any],
    *,
    school: School | None,
    by: Actor | None,
    action: str,
    extra: dict[str, Any] | None = None,
    redact: tuple[str, ...] = (),
    only_if_changed: bool = False,
    full_clean: bool = False,
) -> dict[str, list[Any]]:
    """Set ``data`` on ``instance``, save those fields, and audit what changed.

    The audit row holds ``{field: [old, new]}`` for each changed field, then ``extra``.
    A ``redact``ed field (a personal text) is recorded as changed, not what it says. With
    ``only_if_changed``, nothing is saved or audited when no field of ``data`` changed; with
    ``full_clean``, the model's own validation runs before saving.
    The model's ``auto_now`` fields are saved too. Returns the changes.
    """
    changes = diff_fields(instance, data)
    if only_if_changed and not changes:
        return changes
    for name, value in data.items():
        setattr(instance, name, value)
    if full_clean:
        instance.full_clean()
    stamped = [f.name for f in instance._meta.concrete_fields if getattr(f, "auto_now", False)]
    instance.save(update_fields=[*data, *stamped])
    recorded = {name: ["…", "…"] if name in redact else value for name, value in changes.items()}
    audit_write(
        school=school, by=by, action=action, target=instance, changes={**recorded, **(extra or {})}
    )
    return changes


def diff_fields(instance: models.Model, data: dict[str, Any]) -> dict[str, list[Any]]:
    """Fields of ``data`` that differ from ``instance``, as {field: [old, new]} for the audit."""
    changed = {}
    for name, new in data.items():
        old = getattr(instance, name)
        if old != new:
            changed[name] = [_plain(old), _plain(new)]
    return changed


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, str | int | float | bool | list | dict) or value is None:
        return value
    return str(value)


# --- What each action is called ---------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ActionArea:
    key: str
    label: str | Promise
    actions: dict[str, str | Promise]


AREAS: dict[str, ActionArea] = {}
_LABELS: dict[str, str | Promise] = {}


def register_actions(key: str, label: str | Promise, actions: dict[str, str | Promise]) -> None:
    """Name the action codes of one area (an app registers its own from ``ready()``; a
    second call for an area adds to it, as each import kind adds its import)."""
    clash = set(actions) & set(_LABELS)
    if clash:
        raise ValueError(f"audit actions registered twice: {sorted(clash)}")
    area = AREAS.setdefault(key, ActionArea(key, label, {}))
    area.actions.update(actions)
    _LABELS.update(actions)


def action_label(code: str) -> str:
    """The action's words in the active language; an unknown code as it is."""
    label = _LABELS.get(code)
    return str(label) if label is not None else code


def action_area(code: str) -> ActionArea | None:
    return next((area for area in AREAS.values() if code in area.actions), None)
