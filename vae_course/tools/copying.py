"""Does a submission answer an exercise with the course's own reference implementation?

Read statically, in the grader's process: the code cells are parsed (never run), the
names they bind are followed through imports, aliases and assignments, and every
top-level definition of an exercise's name, with the helpers it uses, is searched for a
use of the reference. These all count, with ``losses`` being ``vae_course.losses``:

    return losses.reconstruction_loss(logits, x)          # a direct call
    from vae_course.losses import reconstruction_loss as r    ...  r(logits, x)
    L = losses; L.gaussian_kl(mu, logvar)                  # an alias
    getattr(losses, "gaussian_kl")(mu, logvar)             # a lookup by a constant name
    reconstruction_loss = losses.reconstruction_loss       # an assignment
    model.reparameterize(mu, logvar)                       # the model's own method

What counts as an exercise's answer is in :mod:`.references`; the references of other
exercises stay allowed, as in the solutions (``vae_loss`` may call
``losses.gaussian_kl``). Code that decides at run time
what it calls (exec, eval, names computed from strings, imports by a computed name) is
reported too, since it cannot be checked.
"""

from __future__ import annotations

import ast
import builtins

from nbformat import NotebookNode

from ..checks.core import Exercise
from ..checks.results import Status
from .notebook_names import DYNAMIC as DYNAMIC_CODE
from .notebook_names import Binding, Scope, bind_statements, function_scope, notebook_scope
from .references import ANSWERS, CHECKS, lookup, references

DYNAMIC = {"exec", "eval", "compile", "__import__"}  # builtins that run or import by a string
LOOKUPS = {"__getattribute__", "__getattr__"}  # methods that look an attribute up by its name


# ---- searching the exercise's code -------------------------------------------------

STUDENT = "<student code>"  # the value of a name bound to the student's own def or class


class Finder:
    """Searches what binds an exercise's names, and the helpers they use, for references."""

    def __init__(self, exercise: Exercise, top: Scope):
        self.exercise, self.top = exercise, top
        self.objects, self.names = references(exercise)
        self.calls = {p[:-2] for p in ANSWERS.get(exercise.name, ()) if p.endswith("()")}
        self.hits: list[str] = []  # "cell N uses ...", the reasons found
        self.unchecked = False  # a reason is code that the grader cannot read
        self.queue: list[Binding] = []

    def run(self) -> list[str]:
        for b in self.top.names.get(DYNAMIC_CODE, []):
            self.hit(b.cell, f"runs code that the grader cannot read (`{ast.unparse(b.node)[:60]}`)",
                     True)
        for name in self.exercise.needs:
            self.queue += self.top.names.get(name, [])
            for star in self.top.names.get("*", []):
                if self.is_reference(f"{star.path}.{name}"):
                    self.hit(star.cell, f"imports * from `{star.path}`, which brings in its "
                                        f"`{name}`")
        seen: set[int] = set()
        while self.queue:
            b = self.queue.pop(0)
            if id(b) in seen:
                continue
            seen.add(id(b))
            if b.path and not b.star:
                if self.is_reference(b.path):
                    self.hit(b.cell, f"imports the course's own `{b.path}`")
            elif b.node is not None:
                self.visit(b.node, b.scope, b.cell)
        return self.hits

    def hit(self, cell: int, what: str, unchecked: bool = False) -> None:
        self.unchecked |= unchecked and not self.hits
        text = f"cell {cell + 1} {what}"
        if text not in self.hits:
            self.hits.append(text)

    def is_reference(self, path: str) -> bool:
        if path == CHECKS or path.startswith(CHECKS + "."):
            return True
        obj = lookup(path)
        return obj is not None and id(obj) in self.objects

    def visit(self, node: ast.AST, scope: Scope, cell: int) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            outer = [*getattr(node, "decorator_list", []), *node.args.defaults,
                     *[d for d in node.args.kw_defaults if d is not None]]
            for child in outer:
                self.visit(child, scope, cell)
            inner = function_scope(node, scope, cell)
            for child in (node.body if isinstance(node.body, list) else [node.body]):
                self.visit(child, inner, cell)
            return
        if isinstance(node, ast.ClassDef):
            inner = Scope(parent=scope)
            bind_statements(node.body, inner, cell)
            for child in [*node.decorator_list, *node.bases, *node.body]:
                self.visit(child, inner, cell)
            return
        self.check(node, scope, cell)
        for child in ast.iter_child_nodes(node):
            self.visit(child, scope, cell)

    def check(self, node: ast.AST, scope: Scope, cell: int) -> None:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            for b in scope.find(node.id) or []:
                if b.scope is self.top and (b.node is not None or b.path):
                    self.queue.append(b)  # a helper of the student's, or an alias: follow it
        if isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)) and \
                getattr(node, "ctx", ast.Load()).__class__ is ast.Load:
            for path in sorted(self.values(node, scope)):
                if path != STUDENT and self.is_reference(path):
                    self.hit(cell, f"uses the course's own `{path}`")
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) \
                and node.attr in self.names and not self.values(node.value, scope):
            self.hit(cell, f"calls `.{node.attr}` of an object, the course's own implementation")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in self.calls and node.func.id in scope.names:
            self.hit(cell, f"calls its argument `{node.func.id}` itself, which runs the course's "
                           f"own implementation")
        if isinstance(node, ast.Call):
            func = self.values(node.func, scope)
            dunder = isinstance(node.func, ast.Attribute) and node.func.attr in LOOKUPS and \
                not (node.args and isinstance(node.args[0], ast.Constant))
            if dunder or func & {f"builtins.{name}" for name in DYNAMIC} or (
                    func & {"builtins.getattr", "importlib.import_module"}
                    and not all(isinstance(a, ast.Constant) for a in node.args[1:2] or
                                node.args[:1])):
                self.hit(cell, f"runs or looks up code by a name computed at run time "
                               f"(`{ast.unparse(node.func)}`), which the grader cannot check", True)
        if isinstance(node, ast.Subscript) and "sys.modules" in self.values(node.value, scope) \
                and not isinstance(node.slice, ast.Constant):
            self.hit(cell, "looks a module up by a name computed at run time, which the grader "
                           "cannot check", True)

    def values(self, node: ast.AST, scope: Scope, depth: int = 0) -> set[str]:
        """The dotted paths ``node`` may stand for (STUDENT for the student's own code)."""
        if depth > 30:
            return set()
        deeper = depth + 1
        if isinstance(node, ast.Name):
            bindings = scope.find(node.id)
            if bindings is None:
                stars = {f"{b.path}.{node.id}" for b in self.top.names.get("*", [])
                         if lookup(f"{b.path}.{node.id}") is not None}
                return stars or ({f"builtins.{node.id}"} if hasattr(builtins, node.id) else set())
            out: set[str] = set()
            for b in bindings:
                if b.path:
                    out.add(b.path)
                elif isinstance(b.node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    out.add(STUDENT)
                elif b.node is not None:
                    out |= self.values(b.node, b.scope, deeper)
            return out
        if isinstance(node, ast.Attribute):
            return {STUDENT if v == STUDENT else f"{v}.{node.attr}"
                    for v in self.values(node.value, scope, deeper)}
        if isinstance(node, ast.Lambda):
            return {STUDENT}
        if isinstance(node, ast.Call):
            func = self.values(node.func, scope, deeper)
            const = [a.value for a in node.args if isinstance(a, ast.Constant)
                     and isinstance(a.value, str)]
            if "builtins.getattr" in func and len(node.args) >= 2 and \
                    isinstance(node.args[1], ast.Constant):
                return {f"{v}.{node.args[1].value}"
                        for v in self.values(node.args[0], scope, deeper) if v != STUDENT}
            if isinstance(node.func, ast.Attribute) and node.func.attr in LOOKUPS and \
                    node.args and isinstance(node.args[0], ast.Constant):  # m.__getattribute__("f")
                return {f"{v}.{node.args[0].value}"
                        for v in self.values(node.func.value, scope, deeper) if v != STUDENT}
            if func & {"importlib.import_module", "builtins.__import__"} and const:
                return {const[0], const[0].split(".")[0]}
            return set()
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                and isinstance(node.slice.value, str):
            base = node.value
            if "sys.modules" in self.values(base, scope, deeper):
                return {node.slice.value}
            if isinstance(base, ast.Call) and self.values(base.func, scope, deeper) & {
                    "builtins.vars"} and base.args:
                base = base.args[0]
            elif isinstance(base, ast.Attribute) and base.attr == "__dict__":
                base = base.value
            else:
                return set()
            return {f"{v}.{node.slice.value}" for v in self.values(base, scope, deeper)
                    if v != STUDENT}
        return set()


def find_copies(nb: NotebookNode, exercises: list[Exercise]) -> dict[str, str]:
    """exercise name -> why it counts as copying the reference, for each exercise that does."""
    top = notebook_scope(nb)
    found = {}
    for exercise in exercises:
        finder = Finder(exercise, top)
        hits = finder.run()
        if not hits:
            continue
        more = f" (and {len(hits) - 1} more)" if len(hits) > 1 else ""
        if finder.unchecked:
            found[exercise.name] = (f"not credited: {hits[0]}{more}. Write `{exercise.needs[0]}` "
                                    f"out as plain code, without exec, eval or computed names.")
        else:
            found[exercise.name] = (f"copied: {hits[0]}{more}. An exercise answered with the "
                                    f"course's own reference implementation earns no credit: "
                                    f"write the computation yourself.")
    return found


def copies_failed(nb: NotebookNode, exercises: list[Exercise],
                  outcome: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``outcome`` (status, message per exercise) with every copied exercise failed.

    A notebook the search cannot read (say, code nested too deep) has no exercise passed:
    those become errors that ask for grading by hand.
    """
    try:
        copies = find_copies(nb, exercises)
    except Exception as exc:
        why = (f" Note: not checked for copies of the course's reference ({type(exc).__name__}: "
               f"{exc}); grade it by hand.")
        return [(Status.ERROR if status == Status.PASSED else status, message + why)
                for status, message in outcome]
    return [(Status.FAILED, copies[e.name]) if e.name in copies else result
            for e, result in zip(exercises, outcome)]
