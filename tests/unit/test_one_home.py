"""One home each, in the bottom layer (``dashboard.core``), for UK time, coordinate reference systems
and their transformers, token digests and the audit row's canonical form: the code that defines them
appears there and nowhere else in ``dashboard`` (every other module imports it).

Read from the source with ``ast``: string constants and calls, not docstrings or comments.
Exception: Alembic migrations (``dashboard/registry/migrations``) keep their own copies, as a
migration must go on doing what it did when it was written whatever later code does.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "dashboard" / "registry" / "migrations"


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def _call_name(node: ast.Call) -> str:
    parts, f = [], node.func
    while isinstance(f, ast.Attribute):
        parts.append(f.attr)
        f = f.value
    if isinstance(f, ast.Name):
        parts.append(f.id)
    return ".".join(reversed(parts))


def occurrences(source: str, constants: set[str], calls: set[str]) -> list[int]:
    """Lines where ``source`` has one of the string ``constants`` (not as a docstring) or calls one of ``calls``
    (dotted names as written, e.g. ``Transformer.from_crs``)."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    lines = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docs
            and node.value in constants
        ) or (isinstance(node, ast.Call) and _call_name(node) in calls):
            lines.append(node.lineno)
    return sorted(lines)


def found_outside(home: str, constants: set[str], calls: set[str] = frozenset()) -> list[str]:
    out = []
    for path in sorted((ROOT / "dashboard").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel == home or MIGRATIONS in path.parents:
            continue
        out += [f"{rel}:{line}" for line in occurrences(path.read_text(encoding="utf-8"), set(constants), set(calls))]
    return out


HOMES = {
    "UK time": ("dashboard/core/uktime.py", {"Europe/London"}, set()),
    "coordinate reference systems": (
        "dashboard/core/crs.py",
        {"EPSG:4326", "EPSG:27700", "EPSG:3857", "WGS84"},
        {"Transformer.from_crs", "pyproj.Transformer.from_crs", "Geod", "pyproj.Geod"},
    ),
    "token digests": ("dashboard/core/digests.py", set(), set()),  # checked below: hashing a token's text
    "the audit row's canonical form": ("dashboard/core/audit_rows.py", {"0" * 64}, {"json.JSONEncoder"}),
}


@pytest.mark.parametrize("what", list(HOMES))
def test_defined_in_its_home_only(what):
    home, constants, calls = HOMES[what]
    assert (ROOT / home).is_file()
    assert found_outside(home, constants, calls) == []


def test_a_token_is_hashed_in_one_place():
    """``hashlib.sha256(<text>.encode(...))`` outside core/digests.py: a second token digest."""
    out = []
    for path in sorted((ROOT / "dashboard").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "dashboard/core/digests.py" or MIGRATIONS in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and _call_name(node) in ("hashlib.sha256", "sha256")
                and node.args
                and isinstance(node.args[0], ast.Call)
                and _call_name(node.args[0]).endswith(".encode")
            ):
                out.append(f"{rel}:{node.lineno}")
    assert out == []


def test_the_check_finds_a_second_definition():
    source = (
        '"""Times are Europe/London."""\n'
        'UK = ZoneInfo("Europe/London")\n'
        't = pyproj.Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)\n'
    )
    assert occurrences(source, {"Europe/London"}, set()) == [2]  # the docstring does not count
    assert occurrences(source, {"EPSG:4326"}, {"pyproj.Transformer.from_crs"}) == [3, 3]
