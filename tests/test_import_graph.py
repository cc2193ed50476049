"""The import graph points one way: core, accounts, records, submissions, certification, the
simulated central database, portal.

Each layer may import the layers below it and never one above, so the core (schools,
terms, windows, policy, audit, jobs, lib) can be read and tested without the apps built
on it, and no cycle can form between apps. Imports are read from the source, including
those under ``if TYPE_CHECKING:`` and inside functions: a lazy import is still a
dependency. The project's wiring (settings, root URLs, Celery app, WSGI) names apps only
by string, so it sits on no layer.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = [
    "portfolio", "accounts", "records", "submissions", "certification", "centralsim", "portal",
]  # fmt: skip
WIRING = {"portfolio/settings.py", "portfolio/urls.py", "portfolio/celery.py", "portfolio/wsgi.py"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            # `from records import views` imports the module records.views too.
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def upward_imports() -> list[str]:
    rank = {name: index for index, name in enumerate(LAYERS)}
    problems = []
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative in WIRING or "/migrations/" in relative:
                continue
            for module in sorted(imported_modules(path)):
                top = module.split(".")[0]
                if top in rank and rank[top] > rank[layer]:
                    problems.append(f"{relative} imports {module} ({layer} is below {top})")
    return problems


def view_imports_across_apps() -> list[str]:
    """No app imports another app's views: shared helpers live in access.py or selectors."""
    problems = []
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative in WIRING:
                continue
            for module in imported_modules(path):
                parts = module.split(".")
                if (
                    parts[0] != layer
                    and parts[0] in LAYERS
                    and any(part == "views" or part.startswith("views_") for part in parts[1:])
                ):
                    problems.append(f"{relative} imports {module}")
    return problems


def test_no_layer_imports_a_layer_above_it():
    assert upward_imports() == []


def test_no_app_imports_another_apps_views():
    assert view_imports_across_apps() == []


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    """The scan itself: an upward import, a lazy one included, is reported."""
    module = tmp_path / "records" / "bad.py"
    module.parent.mkdir()
    module.write_text("def f():\n    from portal import dashboard\n", encoding="utf-8")
    for layer in LAYERS:
        if layer != "records":
            (tmp_path / layer).mkdir()
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert upward_imports() == [
        "records/bad.py imports portal (records is below portal)",
        "records/bad.py imports portal.dashboard (records is below portal)",
    ]
