"""Callbacks live at module level, with dict answers once they have several outputs (issue 18, "the house").

A page's ``register_callbacks(app)`` only wires functions defined at the top of its module (or a thin
lambda passing ``ctx.triggered_id`` to one), so a test can call them directly; a callback with three or
more outputs names them (``output={"rows": Output(...), ...}``) instead of answering a long tuple whose
order has to be remembered. Read from the source with ``ast``, so no app is built.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from dashboard.config import PROJECT_ROOT

MAX_UNNAMED_OUTPUTS = 2
MODULES = sorted([*(PROJECT_ROOT / "dashboard" / "pages").glob("*.py"), PROJECT_ROOT / "dashboard" / "application.py"])


def _is_callback(node: ast.AST) -> bool:
    """``app.callback(...)`` (not ``app.clientside_callback``, whose function is JavaScript)."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "callback"


def _outputs(call: ast.Call, assigned: dict[str, ast.AST]) -> ast.AST | list[ast.AST]:
    for kw in call.keywords:
        if kw.arg == "output":
            value = kw.value
            return assigned.get(value.id, value) if isinstance(value, ast.Name) else value
    return [a for a in call.args if isinstance(a, ast.Call) and getattr(a.func, "id", None) == "Output"]


def problems(source: str, name: str = "<module>") -> list[str]:
    """What in ``source`` breaks the rule, one line each."""
    tree = ast.parse(source)
    top_functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    assigned = {
        t.id: n.value for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)
    }
    found = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(fn):
            decorated = isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef) and inner.decorator_list
            if inner is not fn and decorated and any(_is_callback(d) for d in inner.decorator_list):
                found.append(f"{name}:{inner.lineno} callback {inner.name} is defined inside {fn.name}")
        if fn.name == "register_callbacks":
            nested = [n.name for n in ast.walk(fn) if n is not fn and isinstance(n, ast.FunctionDef)]
            found += [f"{name}: register_callbacks defines {n}; define it at module level" for n in nested]
    for node in ast.walk(tree):
        # app.callback(...)(registered)
        if isinstance(node, ast.Call) and _is_callback(node.func):
            registered = node.args[0] if node.args else None
            # a thin wrapper is fine: a lambda calling the function, or a wrapper made from it (`_fired_by(f, 2)`)
            if isinstance(registered, ast.Lambda) and isinstance(registered.body, ast.Call):
                target = registered.body.func
            elif isinstance(registered, ast.Call) and registered.args:
                target = registered.args[0]
            else:
                target = registered
            if not (isinstance(target, ast.Name) and target.id in top_functions):
                found.append(f"{name}:{node.lineno} registers something other than a module-level function")
            outputs = _outputs(node.func, assigned)
            count = len(outputs.elts) if isinstance(outputs, ast.List | ast.Tuple) else outputs
            if isinstance(count, list):
                count = len(count)
            if isinstance(count, int) and count > MAX_UNNAMED_OUTPUTS:
                found.append(f"{name}:{node.lineno} answers {count} outputs by position; name them with output={{...}}")
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_callbacks_are_module_level_functions_with_named_outputs(path: Path):
    assert problems(path.read_text(encoding="utf-8"), path.name) == []


def test_the_rule_finds_a_nested_callback_and_a_long_tuple():
    nested = """
def register_callbacks(app):
    @app.callback(Output("a", "x"), Input("b", "y"))
    def inner(y):
        return y
"""
    assert any("defined inside register_callbacks" in p for p in problems(nested))
    long_tuple = """
def three(y):
    return 1, 2, 3

def register_callbacks(app):
    app.callback(Output("a", "x"), Output("c", "x"), Output("d", "x"), Input("b", "y"))(three)
    app.callback(output=[Output("a", "x"), Output("c", "x"), Output("d", "x")], inputs=[Input("b", "y")])(three)
"""
    assert len([p for p in problems(long_tuple) if "by position" in p]) == 2
    named = """
OUT = {"a": Output("a", "x"), "c": Output("c", "x"), "d": Output("d", "x")}

def three(y):
    return {"a": 1, "c": 2, "d": 3}

def register_callbacks(app):
    app.callback(output=OUT, inputs=[Input("b", "y")])(three)
    app.callback(output=OUT, inputs=[Input("b", "y")])(lambda *v: three(*v, trigger=ctx.triggered_id))
"""
    assert problems(named) == []
    unnamed = named.replace("(three)", "(lambda y: {'a': y, 'c': y, 'd': y})", 1)
    assert any("other than a module-level function" in p for p in problems(unnamed))
