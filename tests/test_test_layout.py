"""No test file imports another: what tests share lives in tests/builders/ (and
tests/browser/helpers.py, tests/matrix/), fixtures in conftest.py."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def imports_of_test_files() -> list[str]:
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            modules = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            for module in modules:
                last = module.split(".")[-1]
                if module.startswith("tests.") and (last.startswith("test_") or last == "conftest"):
                    found.append(f"{path.relative_to(TESTS)} imports {module}")
    return found


def test_no_test_file_imports_another():
    assert imports_of_test_files() == []
