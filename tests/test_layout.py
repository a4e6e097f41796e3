"""The package's three parts import only downwards: the student's library never imports
the interactive layer or the tools, and the interactive layer never imports the tools."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "vae_course"
LEVELS = {"library": 0, "interactive": 1, "tools": 2}


def part_of(module: str) -> str:
    """'vae_course.tools.grade' -> 'tools'; 'vae_course.checks.kl' -> 'library'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ("interactive", "tools") else "library"


def module_name(path: Path, package: Path = PACKAGE) -> str:
    rel = path.relative_to(package.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, root: Path = PACKAGE) -> list[tuple[int, str]]:
    """Every module a file imports (absolute names, relative imports resolved), with its line."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # `from vae_course import tools` imports the subpackage itself
            found += [(node.lineno, f"{target}.{a.name}") for a in node.names]
    return [(line, m) for line, m in found if m == "vae_course" or m.startswith("vae_course.")]


def upward_imports(package: Path = PACKAGE) -> list[str]:
    bad = []
    for path in sorted(package.rglob("*.py")):
        if path.name == "__main__.py":  # `python -m vae_course` is the command line itself
            continue
        here = part_of(module_name(path, package))
        seen = set()
        for line, target in imported_modules(path, package):
            if target == "vae_course" or line in seen:
                continue
            there = part_of(target)
            if LEVELS[there] > LEVELS[here]:
                seen.add(line)  # one report per import statement
                bad.append(f"{path.relative_to(package.parent)}:{line} ({here}) imports "
                           f"{target} ({there})")
    return bad


def test_no_part_imports_a_part_above_it():
    assert upward_imports() == []


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


@pytest.mark.parametrize("source, part", [
    ("from .tools import grade\n", "tools"),
    ("from vae_course.tools.cli import main\n", "tools"),
    ("from ..interactive import widgets\n", "interactive"),
    ("import vae_course.interactive.widgets\n", "interactive"),
])
def test_the_check_catches_an_upward_import(tmp_path, source, part):
    # a copy of the package in which one library module imports a higher part
    fake = tmp_path / "vae_course"
    (fake / "checks").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "checks" / "__init__.py").write_text("")
    target = fake / ("checks/kl.py" if source.startswith("from ..") else "losses.py")
    target.write_text("import torch\n" + source)
    bad = upward_imports(fake)
    assert len(bad) == 1 and f"({part})" in bad[0] and "(library)" in bad[0], bad
