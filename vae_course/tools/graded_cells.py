"""Which cells of a submission the grader's verdicts depend on, read from the code itself.

The grader's checks take the exercises' functions from the kernel (``needs`` of each
exercise). A graded run executes the cells that give those names, and the names they use
in turn (a helper, a constant, an import), to a fixed point, plus every cell that could
change how the rest behaves: a cell that rebinds or mutates a needed name
(``double.__defaults__ = ...``), changes a module or the interpreter (``torch.sigmoid =
...``, ``torch.set_default_dtype``, ``sys.setprofile``, ``os.chdir``), runs code the
reading cannot follow (``exec``, ``%run``, ``globals()``, ``get_ipython()``), or cannot be
parsed. Figures, long demonstrations and widgets that no verdict reads are left out.

A dependency found this way is conservative (every binding of a name anywhere counts,
whatever order the cells run in), so the grades equal a full top-to-bottom run's; only
messages about cells left out (a figure cell that would have timed out) can differ.
"""

from __future__ import annotations

import ast
import re

from nbformat import NotebookNode

# Calls that may change the behaviour of code in other cells: a few builtins by name, and
# the setters of the modules that hold global state (seeds, default dtype, threads...).
RISKY_BUILTINS = {"exec", "eval", "compile", "globals", "locals", "vars", "setattr", "delattr",
                  "__import__", "get_ipython", "breakpoint", "exit", "quit"}
STATEFUL_MODULES = {"torch", "np", "numpy", "random", "sys", "os", "warnings", "threading",
                    "matplotlib", "mpl", "plt", "importlib", "gc", "signal", "ctypes", "F", "nn",
                    "functools", "builtins", "train", "subprocess", "shutil", "atexit"}
# Seeds are not among them: every checker fixes its own, so that its verdict never depends
# on what ran before it.
RISKY_ATTRS = re.compile(r"^((?!set_seed$)set_\w+|use_deterministic_algorithms|"
                         r"setprofile|settrace|setrecursionlimit|chdir|putenv|import_module|"
                         r"reload|register_\w+|_exit|kill|fork|system|spawn\w*|popen|run|"
                         r"call|check_\w+|rmtree|remove|unlink|rename|replace)$")
RISKY_NAMES = {"__builtins__", "builtins", "sys", "os", "importlib", "environ", "modules",
               "__dict__", "__class__", "__code__", "__defaults__", "__kwdefaults__",
               "__globals__", "gc", "ctypes", "signal", "threading", "atexit"}


def python_source(source: str) -> str | None:
    """A cell's code as plain Python (IPython's magics and ``!`` lines translated), or None."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - anything odd: the caller keeps the cell
        return None


def dotted(node: ast.AST) -> str:
    """``a.b.c`` for an attribute chain, the name for a name, "" otherwise."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def root(node: ast.AST) -> str | None:
    """The name an attribute or subscript chain starts from (``a`` of ``a.b[0].c``)."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp,
          ast.SetComp, ast.DictComp, ast.GeneratorExp)


def bound_in(node: ast.AST) -> set[str]:
    """The names a function, lambda, class or comprehension binds for itself."""
    names: set[str] = set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        a = node.args
        names |= {x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg) if x}
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        inner = [g.target for g in node.generators]
    else:
        inner = node.body if isinstance(node.body, list) else [node.body]
    for statement in inner:
        for sub in walk_scope(statement):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
                names.add(sub.id)
            elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(sub.name)
            elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                names |= {(x.asname or x.name).split(".")[0] for x in sub.names}
    return names


def walk_scope(node: ast.AST):
    """``node`` and what lies below it in the same scope (not inside nested functions etc.)."""
    yield node
    for child in ast.iter_child_nodes(node):
        if isinstance(child, SCOPES):
            yield child  # its name and decorators belong here; its body does not
            continue
        yield from walk_scope(child)


class CellFacts:
    """What one cell binds at top level, the names it reads from the notebook's globals
    (free names of its functions included), what it mutates, and whether it does
    something whose effect on other cells cannot be read."""

    def __init__(self, tree: ast.Module):
        self.binds: set[str] = set()
        self.uses: set[str] = set()
        self.mutates: set[str] = set()
        self.risky = False
        for statement in tree.body:
            for node in ([statement] if isinstance(statement, SCOPES) else walk_scope(statement)):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    self.binds.add(node.name)
                elif isinstance(node, (ast.Import, ast.ImportFrom)):
                    for alias in node.names:
                        self.risky |= alias.name == "*"
                        self.binds.add((alias.asname or alias.name).split(".")[0])
                elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                    self.binds.add(node.id)
        self._read(tree, set())

    def _read(self, node: ast.AST, local: set[str]) -> None:
        """Note the globals ``node`` reads, ``local`` being the names its scopes bind."""
        if isinstance(node, SCOPES):
            local = local | bound_in(node)
        for sub in walk_scope(node):
            if sub is not node and isinstance(sub, SCOPES):
                for part in (getattr(sub, "decorator_list", []) + getattr(sub, "bases", [])
                             + list(getattr(getattr(sub, "args", None), "defaults", []) or [])):
                    self._read(part, local)
                self._read(sub, local)
                continue
            if isinstance(sub, (ast.Global, ast.Nonlocal)):
                self.binds.update(sub.names)
            elif isinstance(sub, ast.Name):
                if sub.id in RISKY_NAMES:
                    self.risky = True
                if sub.id not in local:
                    self.uses.add(sub.id)
            elif isinstance(sub, ast.Attribute):
                self.risky |= sub.attr in RISKY_NAMES
                if isinstance(sub.ctx, (ast.Store, ast.Del)):
                    self._mutated(sub)
            elif isinstance(sub, ast.Subscript) and isinstance(sub.ctx, (ast.Store, ast.Del)):
                self._mutated(sub)
            elif isinstance(sub, ast.Call):
                parts = dotted(sub.func).split(".")
                self.risky |= (parts[0] in RISKY_BUILTINS if len(parts) == 1 else
                               parts[0] in STATEFUL_MODULES and bool(RISKY_ATTRS.match(parts[-1])))

    def _mutated(self, target: ast.AST) -> None:
        base = root(target)
        if base is not None:
            self.mutates.add(base)


def cells_needed(nb: NotebookNode, names: set[str]) -> set[int]:
    """The indices of the code cells a graded run executes for the exercises' ``names``:
    the cells that bind or mutate them, every cell that is risky or cannot be read, and,
    to a fixed point, the cells that bind or mutate a name a kept cell reads."""
    facts: dict[int, CellFacts | None] = {}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        source = python_source(cell.source)
        try:
            facts[i] = CellFacts(ast.parse(source)) if source is not None else None
        except (SyntaxError, ValueError, RecursionError):
            facts[i] = None
    keep = {i for i, f in facts.items()
            if f is None or f.risky or (f.binds | f.mutates) & names}
    while True:
        needed = set().union(*(facts[i].uses for i in keep if facts[i] is not None))
        more = {i for i, f in facts.items() if f is not None and i not in keep
                and (f.binds | f.mutates) & needed}
        if not more:
            return keep
        keep |= more
