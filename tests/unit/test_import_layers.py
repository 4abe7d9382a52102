"""Imports point down: every module of ``dashboard`` belongs to one layer, and imports only from its
own layer or the layers below it (DESIGN.md, "Imports point down, never up").

Every import counts: at the top of a module, inside a function (a deferred import is still a
dependency), under ``if TYPE_CHECKING:`` or in a ``try``. The imports are read with ``ast`` from the
source, so nothing is imported to check them.

Layers, bottom to top (a module belongs to the layer of the longest prefix that names it):

0. core: ``dashboard.core`` (vocabulary, UK time, coordinate reference systems, token digests, the
   audit row's canonical form, the record key), settings (``dashboard.config``), mail, component ids
1. geo: pure spatial functions
2. registry: models, database, queries, the audit writer
3. domain: analytics, footage, evidence, delivery (they may import each other, but not in a loop:
   ``test_no_two_packages_import_each_other``)
4. runtime: the assembled app (``runtime``, ``runtime_access``), its cache, cached figures, request errors
5. security: accounts, login, the access guard (it learns the pages from ``create_app``), audit review
6. views: components (view builders) and reports
7. api: the JSON API and its request schemas
8. web: pages and the public side (they import the API's schemas; the API gets what it needs of the
   public side from ``create_app``)
9. app: the app factory, server, command line and demo data

No exceptions are allowed: ``ALLOWED_UPWARD`` is empty, and an entry needs a comment saying why.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "dashboard"

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # dashboard.branding: the force's name, logo and colours from configuration (issue 18, another branch)
    (
        "core",
        ("dashboard", "dashboard.core", "dashboard.config", "dashboard.mail", "dashboard.ids", "dashboard.branding"),
    ),
    ("geo", ("dashboard.geo",)),
    ("registry", ("dashboard.registry",)),
    ("domain", ("dashboard.analytics", "dashboard.footage", "dashboard.evidence", "dashboard.delivery")),
    (
        "runtime",
        (
            "dashboard.runtime",
            "dashboard.runtime_access",
            "dashboard.cache",
            "dashboard.figures",
            "dashboard.request_errors",
        ),
    ),
    ("security", ("dashboard.security",)),
    ("views", ("dashboard.components", "dashboard.reports")),
    ("api", ("dashboard.api",)),
    ("web", ("dashboard.pages", "dashboard.public")),
    ("app", ("dashboard.application", "dashboard.server", "dashboard.cli", "dashboard.__main__", "dashboard.demo")),
)
# (importing module, imported module) pairs allowed to run up a layer, each with a comment saying why.
ALLOWED_UPWARD: frozenset[tuple[str, str]] = frozenset()


def layer_of(module: str) -> int | None:
    """The index of ``module``'s layer (longest matching prefix), None when no layer names it.

    >>> layer_of("dashboard.registry.audit"), layer_of("dashboard.core.vocab"), layer_of("flask")
    (2, 0, None)
    """
    best, index = -1, None
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, index = len(prefix), i
    return index


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_modules(package: Path = PACKAGE, root: Path = ROOT) -> dict[str, tuple[str, bool, str]]:
    """Every module under ``package``: name -> (source, is a package's __init__, path relative to root)."""
    return {
        module_name(p, root): (p.read_text(encoding="utf-8"), p.name == "__init__.py", str(p.relative_to(root)))
        for p in sorted(package.rglob("*.py"))
    }


def imports_of(module: str, source: str, is_package: bool, known: set[str]) -> list[tuple[str, int]]:
    """(imported module, line) for every import statement anywhere in ``source``; ``from X import y``
    names ``X.y`` when that is a module in ``known``, else ``X``. Relative imports are resolved."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                full = f"{target}.{alias.name}"
                found.append((full if full in known else target, node.lineno))
    return found


def upward_imports(modules: dict[str, tuple[str, bool, str]]) -> list[str]:
    """Every import in ``modules`` that runs up a layer, as ``path:line: a (layer) imports b (layer)``."""
    known = set(modules)
    out = []
    for name, (source, is_package, path) in modules.items():
        here = layer_of(name)
        for target, line in imports_of(name, source, is_package, known):
            there = layer_of(target)
            if not (target == "dashboard" or target.startswith("dashboard.")) or there is None or here is None:
                continue
            if there > here and (name, target) not in ALLOWED_UPWARD:
                out.append(f"{path}:{line}: {name} ({LAYERS[here][0]}) imports {target} ({LAYERS[there][0]})")
    return out


def package_of(module: str) -> str:
    return ".".join(module.split(".")[:2])


def package_cycles(modules: dict[str, tuple[str, bool, str]]) -> list[tuple[str, str]]:
    """Pairs of top-level parts of ``dashboard`` (``dashboard.geo``, ``dashboard.runtime``) that reach
    each other through imports (each pair once)."""
    known = set(modules)
    edges: dict[str, set[str]] = {}
    for name, (source, is_package, _) in modules.items():
        for target, _ in imports_of(name, source, is_package, known):
            if target.startswith("dashboard.") and package_of(target) != package_of(name):
                edges.setdefault(package_of(name), set()).add(package_of(target))

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    reached = {p: reach(p) for p in edges}
    return sorted({tuple(sorted((a, b))) for a in reached for b in reached[a] if a != b and a in reached.get(b, set())})


# --------------------------------------------------------------------------------------- the app


def test_every_module_has_a_layer():
    assert [name for name in source_modules() if layer_of(name) is None] == []


def test_no_import_runs_up_a_layer():
    assert upward_imports(source_modules()) == []


def test_no_two_packages_import_each_other():
    assert package_cycles(source_modules()) == []


# ---------------------------------------------------------------------- the checks can fail


def _modules(**sources: str) -> dict[str, tuple[str, bool, str]]:
    return {name.replace("__", "."): (text, False, name.replace("__", "/") + ".py") for name, text in sources.items()}


def test_an_upward_import_is_found_wherever_it_is_written():
    modules = _modules(
        dashboard__geo__fov="from dashboard.registry.models import Camera\n",  # top of the module
        dashboard__registry__models=(
            "def f():\n    from dashboard.security import accounts  # deferred\n    import dashboard.pages.search\n"
        ),
        dashboard__security__accounts=(
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from dashboard.pages import Page\n"
        ),
        dashboard__pages__search="from dashboard.registry import models\nfrom dashboard.core.vocab import ROLES\n",
        dashboard__core__uktime="",
        dashboard__core__vocab="from . import uktime\nfrom ..pages import search\n",  # relative imports
    )
    assert upward_imports(modules) == [
        "dashboard/geo/fov.py:1: dashboard.geo.fov (geo) imports dashboard.registry.models (registry)",
        "dashboard/registry/models.py:2: dashboard.registry.models (registry) imports dashboard.security.accounts (security)",
        "dashboard/registry/models.py:3: dashboard.registry.models (registry) imports dashboard.pages.search (web)",
        "dashboard/security/accounts.py:3: dashboard.security.accounts (security) imports dashboard.pages (web)",
        "dashboard/core/vocab.py:2: dashboard.core.vocab (core) imports dashboard.pages.search (web)",
    ]


def test_a_loop_between_two_packages_of_one_layer_is_found():
    modules = _modules(
        dashboard__footage__links="from dashboard.evidence import triage\n",
        dashboard__evidence__triage="def f():\n    from dashboard.footage.links import digest\n",
        dashboard__analytics__uptake="from dashboard.footage import links\n",
    )
    assert upward_imports(modules) == []  # the same layer: not upward
    assert package_cycles(modules) == [("dashboard.evidence", "dashboard.footage")]


@pytest.mark.parametrize(
    "module, layer",
    [
        ("dashboard", "core"),
        ("dashboard.config", "core"),
        ("dashboard.registry.audit", "registry"),
        ("dashboard.runtime", "runtime"),
        ("dashboard.runtime_access", "runtime"),
        ("dashboard.pages.search", "web"),
        ("dashboard.demo.generator", "app"),
    ],
)
def test_the_longest_prefix_names_the_layer(module, layer):
    assert LAYERS[layer_of(module)][0] == layer
