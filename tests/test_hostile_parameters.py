"""Every URL of the permission matrix, as a role that may see it, with hostile values in
every query parameter and form field the view reads: never a 500.

The parameters a view reads are found by watching it: a request records the names looked
up in its ``QueryDict``s (``GET`` and ``POST``) that it was not sent (what a template copies
from the address is not a name the view wants); the names found are sent again until no
new one appears, and a few common names are always sent. A view that starts reading a new
parameter is therefore tested with it without this file changing.
"""

from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.http import QueryDict
from django.test import Client
from django.urls import reverse
from django.utils.datastructures import MultiValueDict

from tests.builders.matrix import MATRIX, actor_client, matrix_world
from tests.matrix import ACTORS, OUTSIDER_ROLE

COMMON = (
    "page",
    "sort",
    "q",
    "term",
    "year",
    "school_year",
    "student",
    "school_class",
    "class",
    "kind",
    "state",
    "course",
    "selected",
    "export",
    "format",
    "status",
    "next",
    "show",
    "grade",
    "category",
    "enrolment",
    "about",
    "tab",
)
HOSTILE = {
    "superscript digit": "²",
    "Arabic-Indic digits": "٣٤",
    "25 digits": "9" * 25,
    "5,000 digits": "9" * 5000,
    "negative": "-1",
    "empty": "",
    "10,000 characters": "x" * 10_000,
    "control characters": "1\x00\x1b\x0b",
    "bidirectional override": "\u202e1",
}
EXPORTS = {"export": "xlsx", "format": "xlsx"}
# Sent to one name at a time too, past a view's early answers to its other names (a POST
# with ``enter`` set decides nothing): the values that once gave a 500 somewhere.
ONE_AT_A_TIME = ("superscript digit", "25 digits", "5,000 digits", "control characters")
HOSTILE_RANGES = [
    "bytes=" + "9" * 5000 + "-",
    "bytes=-" + "9" * 5000,
    "bytes=0-" + "9" * 5000,
    "bytes=²-",
    "bytes=-0",
    "bytes=5-1",
    "bytes=0-1,2-3",
    "items=0-1",
]
HUGE_IDS = ["9" * 25, "9" * 5000]


class _Seen:
    """The names looked up in a QueryDict, and not in it, while a request runs."""

    def __init__(self, monkeypatch):
        self.names: set[str] = set()
        seen = self.names
        getitem, getlist = MultiValueDict.__getitem__, MultiValueDict._getlist

        def note(data, key):
            if isinstance(key, str) and not dict.__contains__(data, key):
                seen.add(key)

        def recording_getitem(data, key):
            note(data, key)
            return getitem(data, key)

        def recording_getlist(data, key, *args, **kwargs):
            note(data, key)
            return getlist(data, key, *args, **kwargs)

        def recording_contains(data, key):
            note(data, key)
            return dict.__contains__(data, key)

        monkeypatch.setattr(QueryDict, "__getitem__", recording_getitem)
        monkeypatch.setattr(QueryDict, "_getlist", recording_getlist)
        monkeypatch.setattr(QueryDict, "__contains__", recording_contains)


def _actor(expected: dict) -> str:
    """A role that may see the page: the first signed-in actor that gets it (200), else a
    redirect; anonymous only when nobody signed in does better; the first role when nobody
    reaches it (its address is still parsed)."""
    signed_in = [actor for actor in ACTORS if actor != "anon"]
    for wanted in (200, 302):
        for actor in [*signed_in, "anon"]:
            if expected.get(actor) == wanted:
                return actor
    return signed_in[0]


def _request(client: Client, method: str, url: str, data: dict, headers: dict) -> int | str:
    """The status, or the exception the view raised, of one request rolled back after."""
    try:
        with transaction.atomic():
            if method == "get":
                response = client.get(url, data, headers=headers)
            else:
                # In the address and the body: a view may read either.
                response = client.post(
                    f"{url}?{urlencode(data, doseq=True)}", data, headers=headers
                )
            transaction.set_rollback(True)
    except Exception as exc:  # reported with the request that raised it
        return f"{exc.__class__.__name__}: {str(exc)[:200]}"
    if response.streaming:
        # Read to the end, the test client then closes the download's file (a
        # plain close() would also close the test's database connection).
        b"".join(response.streaming_content)
    return response.status_code


def _read_names(client, method, url, seen: _Seen) -> list[str]:
    """The names the view reads: asked for with nothing sent, with something sent (a form
    bound to ``request.GET or None`` reads its fields only then), and with the names found
    so far sent, until no new one appears."""
    names: set[str] = set()
    sent: dict = {}
    for _round in range(5):
        seen.names.clear()
        _request(client, method, url, sent, {})
        if seen.names <= names and sent:
            break
        names |= seen.names
        sent = dict.fromkeys(sorted(names) or ["_"], "1")
    return sorted(names)


def _short(value: str) -> str:
    return value if len(value) <= 20 else f"{value[:10]}…({len(value)} characters)"


@pytest.fixture
def world(school, other_school, make_member, current_roc_year):
    """The permission matrix's objects of this school."""
    return matrix_world(school, other_school, make_member, current_roc_year)


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_hostile_values_never_give_a_500(name, world, make_member, monkeypatch):
    method, kwargs, expected = MATRIX[name]
    actor = _actor(expected)
    with transaction.atomic():
        client = actor_client(actor, expected, world, make_member)
    args = kwargs(world) if kwargs else {}
    url = reverse(name, kwargs=args or None)
    seen = _Seen(monkeypatch)
    wrong = []
    # A page's form is posted too, every field at once (a form checks each field alone).
    methods = [method] if method == "post" else ["get", "post"]
    for verb in methods:
        names = _read_names(client, verb, url, seen)
        for label, value in HOSTILE.items():
            every = dict.fromkeys({*names, *COMMON}, value)
            tries = [("every name", every)]
            if verb == method and label in ONE_AT_A_TIME:
                tries += [(n, {n: value}) for n in names]
            if verb == "get" and EXPORTS.keys() & set(names):
                tries.append(("every name, as xlsx", {**every, **EXPORTS}))
            for which, data in tries:
                status = _request(client, verb, url, data, {})
                if not isinstance(status, int) or status >= 500:
                    wrong.append(f"{verb.upper()} {which}={label}: {status}")
    if name.startswith("files:"):
        for header in HOSTILE_RANGES:
            status = _request(client, "get", url, {}, {"range": header})
            if not isinstance(status, int) or status >= 500:
                wrong.append(f"Range: {_short(header)}: {status}")
    for key, value in args.items():
        if isinstance(value, int):
            for huge in HUGE_IDS:
                address = reverse(name, kwargs={**args, key: huge})
                status = _request(client, method, address, {}, {})
                if not isinstance(status, int) or status >= 500:
                    wrong.append(f"{key}={_short(huge)}: {status}")
    assert not wrong, (
        f"{url} as {expected.get(OUTSIDER_ROLE) if actor == 'outsider' else actor}\n"
        + "\n".join(wrong)
    )


@pytest.mark.parametrize(
    ("name", "method", "read"),
    [
        ("portal:public_schedule", "get", {"year"}),
        ("certification:certify_many", "post", {"enter", "selected"}),
        ("staffrecords:consultation_list", "get", {"student", "q", "school_class", "page"}),
        ("portal:window_add", "post", {"term", "kind", "starts_at", "note"}),
    ],
)
def test_the_names_a_view_reads_are_found(name, method, read, world, make_member, monkeypatch):
    """The walk above tests what it finds: it must find what these views are known to read."""
    _method, kwargs, expected = MATRIX[name]
    with transaction.atomic():
        client = actor_client(_actor(expected), expected, world, make_member)
    url = reverse(name, kwargs=kwargs(world) if kwargs else None)
    assert read <= set(_read_names(client, method, url, _Seen(monkeypatch)))
