"""Every URL of the project, visited by every role, anonymously and from another school.

A URL added without its row here fails ``test_every_url_has_a_row``.
"""

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.builders.matrix import MATRIX, actor_client, matrix_world
from tests.matrix import (
    ACTORS,
    expected_for,
)


def _url_names(patterns, namespace=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _url_names(pattern.url_patterns, pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}:{pattern.name}" if namespace else pattern.name


def test_every_url_has_a_row():
    names = set(_url_names(get_resolver().url_patterns))
    assert names - set(MATRIX) == set(), "add these URLs to the permission matrix"
    assert set(MATRIX) - names == set(), "these rows name URLs that no longer exist"


@pytest.fixture
def world(school, other_school, make_member, current_roc_year):
    """This school's objects, which only its admin may reach."""
    return matrix_world(school, other_school, make_member, current_roc_year)


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_status(name, world, make_member):
    """Every actor on one URL; each request in a savepoint rolled back after it, so an
    allowed POST (a delete, say) leaves the world as the next actor expects it."""
    method, kwargs, expected = MATRIX[name]
    url = reverse(name, kwargs=kwargs(world) if kwargs else None)
    wrong = []
    for actor in ACTORS:
        with transaction.atomic():
            client = actor_client(actor, expected, world, make_member)
            response = getattr(client, method)(url)
            status = response.status_code
            if response.streaming:
                # Read to the end, the test client then closes the download's file (a
                # plain close() would also close the test's database connection).
                b"".join(response.streaming_content)
            transaction.set_rollback(True)
        if status != expected_for(actor, expected):
            wrong.append(f"{actor}: {status}, expected {expected_for(actor, expected)}")
    assert not wrong, f"{method.upper()} {url}\n" + "\n".join(wrong)
