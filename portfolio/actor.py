"""Who acts: what the core reads of the acting person, without importing the apps above it.

``accounts.acting.ActingContext`` is the one real actor; the core's services, audit and
access helpers are typed against this protocol so that the core sits at the bottom of the
import graph (see tests/test_import_graph.py).
"""

from typing import Any, Protocol

from portfolio.models import School


class Actor(Protocol):
    """The signed-in user acting in one school and role, perhaps as a deputy."""

    @property
    def user(self) -> Any: ...

    @property
    def on_behalf_of(self) -> Any: ...

    @property
    def principal(self) -> Any: ...

    @property
    def school(self) -> School: ...

    @property
    def role(self) -> str: ...
