"""What the code cells of a notebook bind at top level, read without running them.

Each name maps to its :class:`Binding` objects: an import (``import vae_course.losses
as L`` binds ``L`` to the path ``vae_course.losses``), a ``def`` or ``class``, or an
expression (``f = L.gaussian_kl``, ``globals()["f"] = ...``), together with the
:class:`Scope` the expression is evaluated in. The reading is flow-insensitive: every
binding anywhere counts, since which one is in effect depends on how the cells ran.
Used by :mod:`vae_course.tools.copying`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from nbformat import NotebookNode


@dataclass
class Binding:
    """One way a name gets a value: an import (``path``), a def, or an expression."""

    cell: int
    node: ast.AST | None = None  # def/class node, or the value expression
    path: str | None = None  # what an import binds, e.g. "vae_course.losses"
    star: bool = False  # ``from path import *``
    scope: Scope | None = None  # where ``node`` is evaluated


@dataclass
class Scope:
    names: dict[str, list[Binding]] = field(default_factory=dict)
    parent: Scope | None = None

    def add(self, name: str, binding: Binding) -> None:
        self.names.setdefault(name, []).append(binding)

    def find(self, name: str) -> list[Binding] | None:
        scope = self
        while scope is not None:
            if name in scope.names:
                return scope.names[name]
            scope = scope.parent
        return None


def bind_statements(body: list[ast.stmt], scope: Scope, cell: int) -> None:
    """Record what ``body`` binds in ``scope`` (not looking inside defs or classes)."""
    for stmt in body:
        if isinstance(stmt, ast.Import):
            for a in stmt.names:
                scope.add(a.asname or a.name.split(".")[0],
                          Binding(cell, path=a.name if a.asname else a.name.split(".")[0]))
        elif isinstance(stmt, ast.ImportFrom) and stmt.module and not stmt.level:
            for a in stmt.names:
                star = a.name == "*"
                scope.add("*" if star else a.asname or a.name,
                          Binding(cell, path=stmt.module if star else f"{stmt.module}.{a.name}",
                                  star=star))
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scope.add(stmt.name, Binding(cell, node=stmt, scope=scope))
            continue
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and stmt.value:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                bind_target(target, stmt.value, scope, cell)
        for child in shallow(stmt):
            if isinstance(child, ast.NamedExpr) and isinstance(child.target, ast.Name):
                scope.add(child.target.id, Binding(cell, node=child.value, scope=scope))
            if isinstance(child, ast.Call):
                bind_globals_call(child, scope, cell)
                bind_run_code(child, scope, cell)
        for name in ("body", "orelse", "finalbody"):
            bind_statements(getattr(stmt, name, []) or [], scope, cell)
        for handler in getattr(stmt, "handlers", []) or []:
            bind_statements(handler.body, scope, cell)


def bind_target(target: ast.AST, value: ast.AST, scope: Scope, cell: int) -> None:
    if isinstance(target, ast.Name):
        scope.add(target.id, Binding(cell, node=value, scope=scope))
    elif isinstance(target, (ast.Tuple, ast.List)):
        values = value.elts if isinstance(value, (ast.Tuple, ast.List)) and \
            len(value.elts) == len(target.elts) else [value] * len(target.elts)
        for t, v in zip(target.elts, values):
            bind_target(t, v, scope, cell)
    elif isinstance(target, ast.Subscript) and is_globals(target.value) and \
            isinstance(target.slice, ast.Constant) and isinstance(target.slice.value, str):
        scope.add(target.slice.value, Binding(cell, node=value, scope=scope))  # globals()["f"] = ...


def bind_globals_call(call: ast.Call, scope: Scope, cell: int) -> None:
    """``globals().update(f=...)`` binds ``f``."""
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "update" and is_globals(func.value):
        for kw in call.keywords:
            if kw.arg:
                scope.add(kw.arg, Binding(cell, node=kw.value, scope=scope))


DYNAMIC = "<code run from a string>"  # the name under which such calls are recorded
RUNS_CODE = {"exec", "run_cell"}  # exec(...), get_ipython().run_cell(...)
RUNS_FILES = {"run", "load", "load_ext"}  # %run, %load, %load_ext (as run_line_magic)


def bind_run_code(call: ast.Call, scope: Scope, cell: int) -> None:
    """``exec("f = ...")`` binds what its code binds; code the grader cannot read (a
    string computed at run time, ``%run script.py``) is recorded under :data:`DYNAMIC`."""
    func = call.func
    name = func.id if isinstance(func, ast.Name) else func.attr \
        if isinstance(func, ast.Attribute) else ""
    first = call.args[0] if call.args else None
    text = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) \
        else None
    if name == "run_line_magic":
        if text in RUNS_FILES:
            scope.add(DYNAMIC, Binding(cell, node=call, scope=scope))
        return
    if name not in RUNS_CODE:
        return
    try:
        tree = ast.parse(text) if text is not None else None
    except SyntaxError:
        return  # it fails when run, too
    if tree is None:
        scope.add(DYNAMIC, Binding(cell, node=call, scope=scope))
    else:
        bind_statements(tree.body, scope, cell)


def is_globals(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in ("globals", "vars", "locals") and not node.args)


def function_scope(node: ast.AST, parent: Scope, cell: int) -> Scope:
    """The local names of a function or lambda: its parameters (bound to their defaults,
    if any) and what its body binds."""
    scope = Scope(parent=parent)
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    for arg, default in [*zip(positional, defaults), *zip(args.kwonlyargs, args.kw_defaults),
                         (args.vararg, None), (args.kwarg, None)]:
        if arg is not None:
            scope.add(arg.arg, Binding(cell, node=default, scope=parent))
    if isinstance(node.body, list):
        bind_statements(node.body, scope, cell)
    return scope


def shallow(node: ast.AST):
    """The nodes of ``node``, not entering the bodies of defs, classes and lambdas."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        yield child
        yield from shallow(child)


def notebook_scope(nb: NotebookNode) -> Scope:
    """What the code cells bind at top level, in order (cells that do not parse bind nothing)."""
    from IPython.core.inputtransformer2 import TransformerManager

    scope, transform = Scope(), TransformerManager()
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(transform.transform_cell(cell.source))
        except (SyntaxError, ValueError):
            continue
        bind_statements(tree.body, scope, i)
    return scope
