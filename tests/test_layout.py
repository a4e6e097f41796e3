"""How the package's modules may import one another. Each rule is a function of the package
folder, run on the real package and on fake copies of it with a planted violation.

1. The three parts import only downwards: the student's library (the top of vae_course/
   and vae_course/checks/), then vae_course/interactive/, then vae_course/tools/.
2. No import cycle. An edge goes to the module actually imported (``from . import losses``
   -> ``losses``, not its package; ``from .core import Hint`` -> ``core``; a package -> its
   ``__init__``), lazy imports in functions included. Imports by name count too: in a
   file that calls ``importlib.import_module`` (or ``__import__``), every string naming a
   module of ours is an edge: a constant, or an f-string of constants, module-level
   string constants and ``__name__``. ``f"{P}.{x}"`` with a computed ``x`` (a loop over
   ``pkgutil.iter_modules``) is an edge to each module directly in package ``P`` but
   ``__main__``. A file naming itself is no edge.
3. No import at the bottom of a file: no module-level import after the first module-level
   ``def`` or ``class``, and no ``# noqa: E402`` anywhere.
4. No private name used across modules: no ``from <module of ours> import _name``, no
   ``mod._name`` or ``getattr(mod, "_name")`` where an import bound ``mod`` to a module of
   ours. Dunders (``__version__``) are not private. Fine: a module's own private names,
   private attributes of other objects (``self._cache``, ``torch._C``), a private
   submodule imported within its own package.
"""

from __future__ import annotations

import ast
import fnmatch
import io
import re
import textwrap
import tokenize
from collections import deque
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "vae_course"
LEVELS = {"library": 0, "interactive": 1, "tools": 2}
DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def part_of(module: str) -> str:
    """'vae_course.tools.grade' -> 'tools'; 'vae_course.checks.kl' -> 'library'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ("interactive", "tools") else "library"


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def dotted(node: ast.AST) -> str | None:
    """'a.b.c' for the expression ``a.b.c``, else None."""
    if isinstance(node, ast.Name):
        return node.id
    base = dotted(node.value) if isinstance(node, ast.Attribute) else None
    return base and f"{base}.{node.attr}"


class Source:
    """One file of the package: its tree, its module name, and the names it binds to
    modules of ours (``bound``) or to strings (``consts``)."""

    def __init__(self, path: Path, package: Path, known: set[str]):
        self.known, self.where = known, path.relative_to(package.parent)
        self.name = module_name(path, package)
        self.here = self.name if path.name == "__init__.py" else self.name.rpartition(".")[0]
        self.tree = ast.parse(path.read_text(), str(path))
        self.bound = {}  # e.g. 'recording' -> 'vae_course.checks.recording'
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):  # `import a.b` binds a; `import a.b as c` binds c
                for a in node.names:
                    self.bound[a.asname or a.name.split(".")[0]] = a.name if a.asname else (
                        a.name.split(".")[0])
            elif isinstance(node, ast.ImportFrom):
                self.bound.update({a.asname or a.name: f"{self.base(node)}.{a.name}"
                                   for a in node.names})
        self.bound = {k: v for k, v in self.bound.items() if v in known}
        self.consts = {"__name__": self.name}
        for node in self.tree.body:  # e.g. PACKAGE = "vae_course"
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                if (value := self.string(node.value)) is not None:
                    self.consts[node.targets[0].id] = value

    def base(self, node: ast.ImportFrom) -> str:
        """The module ``from X import ...`` reads from, a relative X resolved."""
        parts = self.here.split(".")
        parts = parts[: len(parts) - node.level + 1] if node.level else []
        return ".".join(parts + ([node.module] if node.module else []))

    def module(self, node: ast.AST) -> str | None:
        """The module of ours an expression (``recording``, ``vae_course.checks``) stands for."""
        first, _, rest = (dotted(node) or "").partition(".")
        full = self.bound.get(first, "") + (f".{rest}" if rest else "")
        return full if full in self.known else None

    def string(self, node: ast.AST) -> str | None:
        """The string an expression always holds: a constant, a module-level constant,
        ``__name__``, ``mod.__name__``, or an f-string of those; else None."""
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.Attribute) and node.attr == "__name__":
            return self.module(node.value)
        if isinstance(node, ast.Name):
            return self.consts.get(node.id)
        if isinstance(node, ast.FormattedValue):  # the {x} of f"...{x}"
            return self.string(node.value)
        parts = [self.string(v) for v in node.values] if isinstance(node, ast.JoinedStr) else [None]
        return None if None in parts else "".join(parts)

    def named(self, node: ast.AST) -> set[str]:
        """The modules of ours a string or f-string names (imports by name, rule 2)."""
        if (text := self.string(node)) is not None or not isinstance(node, ast.JoinedStr):
            return {text} & self.known
        prefix = ""
        for value in node.values:  # f"{P}.{x}": every module directly in package P
            if (part := self.string(value)) is None:
                break
            prefix += part
        return {m for m in self.known if prefix.endswith(".") and m.rpartition(".")[0] ==
                prefix[:-1] and not m.endswith(".__main__")}  # nothing imports __main__

    def imports(self) -> list[tuple[int, str]]:
        """(line, module of ours) for every import of the file, by statement or by name."""
        found = []
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                found += [(node.lineno, a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = self.base(node)
                found += [(node.lineno, f"{base}.{a.name}" if f"{base}.{a.name}" in self.known
                           else base) for a in node.names]
        if any(isinstance(node, ast.Call) and (dotted(node.func) or "").rpartition(".")[2] in
               ("import_module", "__import__") for node in ast.walk(self.tree)):
            found += [(node.lineno, m) for node in ast.walk(self.tree)
                      if isinstance(node, (ast.Constant, ast.JoinedStr)) for m in self.named(node)]
        return sorted((line, m) for line, m in found if m.split(".")[0] == "vae_course")


def sources(package: Path) -> list[Source]:
    paths = sorted(package.rglob("*.py"))
    known = {module_name(p, package) for p in paths}
    return [Source(p, package, known) for p in paths]


def report(found: list[tuple[Path, int, str]]) -> list[str]:
    return [f"{where}:{line} {what}" for where, line, what in sorted(set(found))]


def upward_imports(package: Path = PACKAGE) -> list[str]:
    """Rule 1: one report per import statement of a part above the importing one."""
    bad = {}
    for src in sources(package):
        if src.where.name != "__main__.py":  # `python -m vae_course` is the command line itself
            for line, target in src.imports():
                here, there = part_of(src.name), part_of(target)
                if target != "vae_course" and LEVELS[there] > LEVELS[here]:
                    bad.setdefault((src.where, line), f"({here}) imports {target} ({there})")
    return report([(where, line, what) for (where, line), what in bad.items()])


def import_graph(package: Path = PACKAGE) -> dict[str, dict[str, str]]:
    """{module: {module it imports: 'file:line' of its first import of it}}."""
    graph = {}
    for src in sources(package):
        graph[src.name] = {}
        for line, target in src.imports():
            if target in src.known and target != src.name:
                graph[src.name].setdefault(target, f"{src.where}:{line}")
    return graph


def import_cycles(package: Path = PACKAGE) -> list[str]:
    """Rule 2: the shortest cycle through each module on one, each printed once as
    'a -> b (a.py:3) -> a (b.py:7)': every arrow with the import that makes it."""
    graph, found = import_graph(package), {}
    for start in sorted(graph):
        parent, queue = {}, deque([start])
        while queue and start not in parent:  # breadth first, until an edge back to start
            node = queue.popleft()
            for nxt in sorted(set(graph[node]) - set(parent)):
                parent[nxt] = node
                queue.append(nxt)
        if start in parent:
            chain = [start, parent[start]]
            while chain[-1] != start:
                chain.append(parent[chain[-1]])
            found.setdefault(frozenset(zip(chain[1:], chain)), chain[::-1])
    return [chain[0] + "".join(f" -> {b} ({graph[a][b]})" for a, b in zip(chain, chain[1:]))
            for chain in found.values()]


def module_level(body: list[ast.stmt]):
    """The statements run at import time: the body, and inside if/try/with/for, not in defs."""
    for node in body:
        if not isinstance(node, DEFS):
            yield node
            for field in ("body", "orelse", "finalbody", "handlers"):
                yield from module_level(getattr(node, field, []))


def late_imports(package: Path = PACKAGE) -> list[str]:
    """Rule 3: module-level imports after the first def/class, and every ``# noqa: E402``."""
    bad = []
    for src in sources(package):
        first = next((n.lineno for n in src.tree.body if isinstance(n, DEFS)), None)
        bad += [(src.where, n.lineno, f"imports after the first def/class (line {first})")
                for n in module_level(src.tree.body)
                if isinstance(n, (ast.Import, ast.ImportFrom)) and first and n.lineno > first]
        text = (package.parent / src.where).read_text()
        bad += [(src.where, tok.start[0], f"has {tok.string!r}")
                for tok in tokenize.generate_tokens(io.StringIO(text).readline)
                if tok.type == tokenize.COMMENT and re.search(r"noqa\s*:[^#]*\bE402\b", tok.string)]
    return report(bad)


def private_uses(package: Path = PACKAGE) -> list[str]:
    """Rule 4: private names of one module of ours used in another."""
    bad = []
    for src in sources(package):
        for node in ast.walk(src.tree):
            used, mod = None, None
            if isinstance(node, ast.ImportFrom) and src.base(node).split(".")[0] == "vae_course":
                base = src.base(node)
                inside = src.name.startswith(f"{base}.")  # a private submodule of its own package
                bad += [(src.where, node.lineno, f"imports {a.name} from {base}")
                        for a in node.names
                        if is_private(a.name) and not (inside and f"{base}.{a.name}" in src.known)]
            elif isinstance(node, ast.Attribute):
                used, mod = node.attr, src.module(node.value)
            elif isinstance(node, ast.Call) and dotted(node.func) == "getattr" and node.args[1:]:
                used, mod = src.string(node.args[1]), src.module(node.args[0])
            if used and is_private(used) and mod and mod != src.name:
                bad.append((src.where, node.lineno, f"uses {mod}.{used}"))
    return report(bad)


FIXES = {
    upward_imports: "a part imports only the parts below it",
    import_cycles: "import cycles: give the idea they share its own module",
    late_imports: "move these imports to the top (a cycle? see import_cycles)",
    private_uses: "make these names public, or keep their use in their module",
}


@pytest.mark.parametrize("rule", FIXES, ids=lambda rule: rule.__name__)
def test_the_package_keeps_the_rule(rule):
    bad = rule(PACKAGE)
    assert not bad, f"{FIXES[rule]}:\n" + "\n".join(bad)


def test_the_three_parts_are_folders_with_a_docstring():
    for sub in ("interactive", "tools"):
        init = PACKAGE / sub / "__init__.py"
        assert init.exists(), f"{init} is missing"
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and "import" in doc, f"{init} must say what the part is for and may import"
    library = {p.stem for p in PACKAGE.glob("*.py")}
    assert {"data", "models", "losses", "train", "plots", "measures"} <= library
    assert (PACKAGE / "checks" / "__init__.py").exists()
    higher = {p.stem for sub in ("interactive", "tools") for p in (PACKAGE / sub).glob("*.py")}
    assert not (library & (higher - {"__init__"})), "a module sits in two parts"


# Each rule on a fake copy of the package: a planted violation is caught, look-alikes are not.

def fake(tmp_path: Path, files: dict[str, str]) -> Path:
    """A fake vae_course under tmp_path holding ``files`` (and an __init__.py in each folder)."""
    root = tmp_path / "vae_course"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text))
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        if not (folder / "__init__.py").exists():
            (folder / "__init__.py").write_text("")
    return root


@pytest.mark.parametrize("source, part", [
    ("from .tools import grade\n", "tools"),
    ("from vae_course.tools.cli import main\n", "tools"),
    ("from ..interactive import widgets\n", "interactive"),
    ("import vae_course.interactive.widgets\n", "interactive"),
])
def test_the_check_catches_an_upward_import(tmp_path, source, part):
    target = "checks/kl.py" if source.startswith("from ..") else "losses.py"
    bad = upward_imports(fake(tmp_path, {target: "import torch\n" + source}))
    assert len(bad) == 1 and f"({part})" in bad[0] and "(library)" in bad[0], bad


CLI = ('import importlib, pkgutil\nCOMMANDS = {"me": "vae_course.tools.cli", '
       '"build": "vae_course.tools.build"}\nrun = lambda c: importlib.import_module(COMMANDS[c])\n')
CHECKS = ("import importlib, pkgutil\nfor info in pkgutil.iter_modules(__path__):\n"
          '    importlib.import_module(f"{__name__}.{info.name}")\n')
DOCTOR = ('import importlib\nPACKAGE = "vae_course"\n'
          'nb = lambda: importlib.import_module(f"{PACKAGE}.tools.nb")\n')


@pytest.mark.parametrize("files, cycle", [
    ({"a.py": "from . import b\n", "b.py": "import torch\n\nfrom .a import x\n"},
     "vae_course.a -> vae_course.b (vae_course/a.py:1) -> vae_course.a (vae_course/b.py:3)"),
    ({"a.py": "import vae_course.b\n", "b.py": "def f():\n    from vae_course import a\n"},
     "vae_course.a -> vae_course.b (vae_course/a.py:1) -> vae_course.a (vae_course/b.py:2)"),
    ({"tools/cli.py": CLI, "tools/build.py": "from .cli import course_dir\n"},
     "vae_course.tools.build -> vae_course.tools.cli (vae_course/tools/build.py:1) "
     "-> vae_course.tools.build (vae_course/tools/cli.py:2)"),
    ({"checks/__init__.py": CHECKS, "checks/kl.py": "from vae_course.checks import EXERCISES\n"},
     "vae_course.checks -> vae_course.checks.kl (vae_course/checks/__init__.py:3) "
     "-> vae_course.checks (vae_course/checks/kl.py:1)"),
    ({"tools/doctor.py": DOCTOR, "tools/nb.py": "from . import doctor\n"},
     "vae_course.tools.doctor -> vae_course.tools.nb (vae_course/tools/doctor.py:3) "
     "-> vae_course.tools.doctor (vae_course/tools/nb.py:1)"),
], ids=["relative", "lazy", "COMMANDS", "iter_modules", "f-string"])
def test_the_check_catches_an_import_cycle(tmp_path, files, cycle):
    assert import_cycles(fake(tmp_path, files)) == [cycle]


def test_children_and_names_in_strings_make_no_cycle(tmp_path):
    package = fake(tmp_path, {
        "__init__.py": "from . import losses\n", "losses.py": "", "checks/probe.py": "",
        "checks/__init__.py": "from .core import Hint\n",  # a package and its children
        "checks/core.py": "from . import probe\nclass Hint(Exception):\n    pass\n",
        "checks/kl.py": "from .. import losses\nfrom .core import Hint\n",  # -> losses, core
        "a.py": "from . import b\n", "b.py": 'NAME = "vae_course.a"  # but no import_module\n',
        "__main__.py": "from .tools.cli import main\n",  # iter_modules lists __main__ too:
        "tools/cli.py": CLI + 'LIB = [f"vae_course.{m.name}" for m in pkgutil.iter_modules()]\n',
    })
    assert import_graph(package)["vae_course.checks.kl"] == {
        "vae_course.losses": "vae_course/checks/kl.py:1",
        "vae_course.checks.core": "vae_course/checks/kl.py:2"}
    assert import_cycles(package) == []


@pytest.mark.parametrize("source, line", [
    ("import os\n\ndef f():\n    pass\n\nimport sys\n", 6),
    ("class A:\n    pass\n\nfrom .b import c\n", 4),
    ("def f():\n    pass\nif True:\n    import sys\n", 4),
    ('"""Doc."""\nimport os  # noqa: E402\n', 2),
    ("import os\n\nimport sys  # noqa: F401,E402  (why)\n", 3),
    ('"""Doc."""\nfrom __future__ import annotations\nX = 1\nimport os  # noqa: F401\n\n'
     'def f():\n    import json  # lazy: fine\n    return "# noqa: E402"  # noqa: E501\n', None),
])
def test_the_check_catches_an_import_at_the_bottom(tmp_path, source, line):
    bad = late_imports(fake(tmp_path, {"a.py": source}))
    assert [b.split(" ")[0] for b in bad] == ([f"vae_course/a.py:{line}"] if line else []), bad


R = "vae_course.checks.recording"
FINE = """\
    import torch
    from torch import _C
    from . import _tables, recording
    from .. import __version__
    _CACHE = {}
    def _helper(x):
        return x._data  # an object's private attribute, not a module's
    class Checker:
        def f(self):
            return self._cache, _helper(1), torch._C, recording.__name__, _CACHE, _tables
"""


@pytest.mark.parametrize("source, used", [
    ("from .core import _secret\n", "_secret from vae_course.checks.core"),
    ("from vae_course.losses import _flat as flat\n", "_flat from vae_course.losses"),
    ("from . import recording\n\ndef f():\n    return recording._probe()\n", f"{R}._probe"),
    (f"import {R}\n{R}._probe\n", f"{R}._probe"),
    ("from ..checks import recording as rec\nrec._x = 1\n", f"{R}._x"),
    ('from . import recording\ngetattr(recording, "_probe")\n', f"{R}._probe"),
    (FINE, None),
])
def test_the_check_catches_a_private_name_used_elsewhere(tmp_path, source, used):
    files = {"losses.py": "", "checks/core.py": "", "checks/recording.py": "",
             "checks/_tables.py": "", "checks/kl.py": source}
    bad = private_uses(fake(tmp_path, files))
    assert (len(bad) == 1 and bad[0].startswith("vae_course/checks/kl.py:") and used in bad[0]
            if used else bad == []), bad


# ---------------------------------------------------------------- tests mirror the code
# STYLE 19: the test of vae_course/<folder>/<module>.py is tests/<part>/test_<module>.py, so
# it is found without a map; and every test file there is named after a module that exists,
# so a renamed module cannot leave its tests behind. tests/notebooks/, browser/, install/
# and fixtures/ test the course as a whole, not one module: they are no mirrors.

TESTS = Path(__file__).resolve().parent
MIRRORS = {"": "library", "checks": "library/checks", "interactive": "interactive",
           "tools": "tools"}  # folder of the package -> folder of its tests
NO_TEST_OF_THEIR_OWN = {"__init__.py", "__main__.py"}  # what they hold is tested where used
# Modules without their mirrored test file for now, with the reason (remove when it is gone).
NOT_MIRRORED_YET = {
    "tools/site*.py": "the course website: its modules and their tests are being written now",
}
# Test files named after no module: a contract that many modules share, tested in one place.
NOT_MIRRORS = {
    "library/checks/test_contract.py": "the contract of every checker, parametrized over all "
                                       "exercises (STYLE 19)",
    "library/test_devices.py": "the device discipline of every function that takes a model, "
                               "in the library and the interactive part alike",
}


def mirror_of(module: Path, package: Path = PACKAGE, tests: Path = TESTS) -> Path | None:
    """tests/<part>/test_<module>.py for vae_course/<folder>/<module>.py (None: no part)."""
    folder = module.parent.relative_to(package).as_posix()
    folder = "" if folder == "." else folder
    return tests / MIRRORS[folder] / f"test_{module.name}" if folder in MIRRORS else None


def unmirrored(package: Path = PACKAGE, tests: Path = TESTS) -> list[str]:
    """Modules of the package without their mirrored test file."""
    missing = []
    for module in sorted(package.rglob("*.py")):
        where = module.relative_to(package).as_posix()
        if module.name in NO_TEST_OF_THEIR_OWN or any(
                fnmatch.fnmatch(where, pattern) for pattern in NOT_MIRRORED_YET):
            continue
        test = mirror_of(module, package, tests)
        if test is None:
            missing.append(f"{package.name}/{where}: no test folder mirrors its folder "
                           f"(add it to MIRRORS)")
        elif not test.exists():
            missing.append(f"{package.name}/{where}: {test.relative_to(tests.parent)} is missing")
    return missing


def orphan_tests(package: Path = PACKAGE, tests: Path = TESTS) -> list[str]:
    """Test files of the mirror folders named after no module of the package."""
    orphans = []
    for folder, part in MIRRORS.items():
        for test in sorted((tests / part).glob("test_*.py")):
            where = test.relative_to(tests).as_posix()
            module = package / folder / f"{test.stem.removeprefix('test_')}.py"
            if where not in NOT_MIRRORS and not module.exists():
                orphans.append(f"{tests.name}/{where}: no module "
                               f"{module.relative_to(package.parent).as_posix()}")
    return orphans


def test_every_module_has_its_mirrored_test_file():
    missing = unmirrored()
    assert not missing, "write the test of each module in its mirrored file:\n" + "\n".join(missing)


def test_every_test_file_is_named_after_a_module():
    orphans = orphan_tests()
    assert not orphans, ("rename these tests after the module they test (or move them into "
                         "its test file):\n" + "\n".join(orphans))


def test_the_exceptions_to_the_mirror_still_apply():
    for where in NOT_MIRRORS:  # a file that is gone, or that became a mirror, leaves the list
        assert (TESTS / where).exists(), f"{where} is in NOT_MIRRORS but does not exist"
    for pattern in NOT_MIRRORED_YET:
        assert list(PACKAGE.glob(pattern)), f"{pattern} in NOT_MIRRORED_YET matches no module"


def test_the_mirror_check_catches_a_module_without_tests_and_tests_without_a_module(tmp_path):
    package = fake(tmp_path, {"losses.py": "", "checks/kl.py": "", "tools/grade.py": "",
                              "tools/site_new.py": "", "extra/thing.py": "", "__main__.py": ""})
    tests = tmp_path / "tests"
    for name in ("library/test_losses.py", "library/checks/test_kl.py", "tools/test_grading.py",
                 "tools/helpers.py", "library/checks/test_contract.py", "install/test_wheel.py"):
        (tests / name).parent.mkdir(parents=True, exist_ok=True)
        (tests / name).write_text("")
    assert unmirrored(package, tests) == [
        "vae_course/extra/thing.py: no test folder mirrors its folder (add it to MIRRORS)",
        "vae_course/tools/grade.py: tests/tools/test_grade.py is missing"]
    assert orphan_tests(package, tests) == ["tests/tools/test_grading.py: no module "
                                            "vae_course/tools/grading.py"]
