"""The records the offices keep about one student, served by one set of views.

Cadre posts (student affairs), consultation records (course consultants) and career
exploration records (counselling) are alike: each is a row about one student of the
office's scope, added with a form that picks the student, edited with the same form and
removed after a confirming POST, each through its services. A ``RecordKind`` says what
differs; ``record_views`` makes the three views of a kind:

- add: the form (with what the address asks for, ``?student=<pk>`` and the like), then
  the kind's list;
- edit: the form filled from the record, 404 for a record not the office's to change;
- delete: POST only, then the kind's list.
"""

import dataclasses
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.db.models import Model
from django.forms import Form
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import Promise
from django.views.decorators.http import require_POST

from accounts.acting import ActingContext, ActingRequest
from accounts.decorators import acting_required
from records.views.lists import submit


@dataclasses.dataclass(frozen=True)
class RecordKind:
    role: str
    template: str
    # form(request, initial): the kind's form bound to the POST, if any.
    form: Callable[[ActingRequest, dict[str, Any]], Form]
    get: Callable[[ActingContext, int], Model]
    initial_for: Callable[[Any], dict[str, Any]]  # the edit form's values, from a record
    initial_new: Callable[[ActingRequest], dict[str, Any]]  # the add form's
    create: Callable[[ActingRequest, dict[str, Any]], Any]
    update: Callable[[ActingRequest, Any, dict[str, Any]], Any]
    delete: Callable[[ActingRequest, Any], None]
    added: str | Promise  # messages, with %(record)s
    saved: str | Promise
    removed: str | Promise
    # Where a page goes once done: the kind's list (maybe filtered for the record).
    list_url: Callable[[Any], str]
    # The add page's own way on after a save ("save and add another"), else the list.
    after_add: Callable[[ActingRequest, Any], str | None] = lambda request, record: None
    add_context: Callable[[ActingRequest], dict[str, Any]] = lambda request: {}


def record_views(kind: RecordKind) -> tuple[Callable, Callable, Callable]:
    """The add, edit and delete views of ``kind``."""

    @acting_required(kind.role)
    def add(request: ActingRequest) -> HttpResponse:
        form = kind.form(request, kind.initial_new(request))
        record = submit(request, form, lambda data: kind.create(request, data))
        if record is not None:
            messages.success(request, kind.added % {"record": record})
            return redirect(kind.after_add(request, record) or kind.list_url(record))
        context = {"form": form, "record": None, **kind.add_context(request)}
        return render(request, kind.template, context)

    @acting_required(kind.role)
    def edit(request: ActingRequest, pk: int) -> HttpResponse:
        record = kind.get(request.acting, pk)
        form = kind.form(request, kind.initial_for(record))
        saved = submit(request, form, lambda data: kind.update(request, record, data))
        if saved is not None:
            messages.success(request, kind.saved % {"record": saved})
            return redirect(kind.list_url(saved))
        return render(request, kind.template, {"form": form, "record": record})

    @require_POST
    @acting_required(kind.role)
    def delete(request: ActingRequest, pk: int) -> HttpResponse:
        record = kind.get(request.acting, pk)
        label, url = str(record), kind.list_url(record)
        kind.delete(request, record)
        messages.success(request, kind.removed % {"record": label})
        return redirect(url)

    return add, edit, delete
