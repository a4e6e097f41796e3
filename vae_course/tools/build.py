"""``vae-course build``: generate notebooks/NN_name.ipynb from solutions/NN_name.ipynb.

    vae-course build            # write the student notebooks that changed
    vae-course build --check    # exit 1 when notebooks/ is stale or leaks solution code (CI)
    vae-course build --force    # also overwrite notebooks someone edited (a backup is kept)

A student notebook that was changed since it was generated (someone filled it in) is
left alone unless ``--force``; then it is first copied to ``NN_name.backup-<time>.ipynb``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .notebooks import course_dir
from .student_notebook import (MarkerError, cells_with_outputs, find_leaks, is_edited,
                               student_notebook)

CREATE, UPDATE, UP_TO_DATE, EDITED = "create", "update", "up to date", "edited"
BACKUP_TAG = ".backup-"


@dataclass
class Plan:
    """What the build would do with one notebook."""

    solution: Path
    target: Path
    text: str  # the generated notebook, as written to disk
    action: str  # CREATE, UPDATE, UP_TO_DATE or EDITED


def render(nb: NotebookNode) -> str:
    """The notebook as nbformat writes it (validated), so that equal notebooks are equal text."""
    nbformat.validate(nb)
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def read_solution(path: Path) -> NotebookNode:
    try:
        return nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several types for unreadable files
        raise MarkerError(f"{path}: cannot be read as a notebook ({type(exc).__name__}: {exc}). "
                          f"Restore it from git or fix the JSON.") from None


def generate(solution_path: Path) -> tuple[NotebookNode, NotebookNode]:
    """(solution, student notebook) for one solution file; raises MarkerError with the fix."""
    solution = read_solution(solution_path)
    return solution, student_notebook(solution, solution_path.stem, where=str(solution_path))


def leak_problems(solution: NotebookNode, student: NotebookNode, where: Path) -> list[str]:
    """Messages for solution lines found in ``student`` and for outputs it carries."""
    problems = [f"{where}, cell {cell}: solution line leaked: `{line}`. Move it between the "
                f"solution markers, or reword it outside them."
                for cell, line in find_leaks(solution, student)]
    if cells_with_outputs(student):
        problems.append(f"{where}: cells {cells_with_outputs(student)} carry outputs; "
                        f"run `vae-course build` to regenerate it without outputs.")
    return problems


def action_for(target: Path, text: str) -> str:
    """Whether ``target`` must be created, updated, is up to date, or was edited by someone."""
    if not target.exists():
        return CREATE
    current = target.read_text(encoding="utf-8", errors="replace")
    if current == text:
        return UP_TO_DATE
    try:
        on_disk = nbformat.reads(current, as_version=4)
    except Exception:  # unreadable: someone's work we cannot judge, so keep it
        return EDITED
    return EDITED if is_edited(on_disk) else UPDATE


def backup(target: Path) -> Path:
    """Copy ``target`` to a new ``<stem>.backup-<time>.ipynb`` beside it; return that path."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        suffix = "" if n == 0 else f"-{n}"
        copy = target.with_name(f"{target.stem}{BACKUP_TAG}{stamp}{suffix}.ipynb")
        if not copy.exists():
            shutil.copy2(target, copy)
            return copy
    raise FileExistsError(f"too many backups of {target}; delete some of them")


def plan(solutions: Path, notebooks: Path) -> tuple[list[Plan], list[str]]:
    """The plans for every solution notebook, and the problems that forbid building."""
    plans, problems = [], []
    for path in sorted(solutions.glob("*.ipynb")):
        try:
            solution, student = generate(path)
        except MarkerError as exc:
            problems.append(str(exc))
            continue
        target = notebooks / path.name
        problems += leak_problems(solution, student, target)
        text = render(student)
        plans.append(Plan(path, target, text, action_for(target, text)))
    return plans, problems


def orphans(notebooks: Path, plans: list[Plan]) -> list[Path]:
    """Notebooks in ``notebooks`` without a solution (backups excepted)."""
    known = {p.target.name for p in plans}
    return [p for p in sorted(notebooks.glob("*.ipynb"))
            if p.name not in known and BACKUP_TAG not in p.name]


def check(plans: list[Plan]) -> list[str]:
    """Messages for each stale notebook (missing, outdated, or edited by hand)."""
    why = {CREATE: "is missing", UPDATE: "is out of date", EDITED: "differs from what the build makes"}
    return [f"{p.target} {why[p.action]} (source {p.solution})"
            for p in plans if p.action != UP_TO_DATE]


def write(plans: list[Plan], force: bool, say=print) -> None:
    """Write each plan's notebook, leaving edited ones alone unless ``force`` (then back up)."""
    for p in plans:
        if p.action == UP_TO_DATE:
            say(f"up to date: {p.target}")
            continue
        if p.action == EDITED:
            if not force:
                say(f"kept {p.target}: it was changed since it was generated (filled in?), "
                    f"so it is left alone. To regenerate it anyway, run `vae-course build "
                    f"--force`; a backup copy is kept beside it.")
                continue
            say(f"backed up {p.target} to {backup(p.target)}")
        p.target.parent.mkdir(parents=True, exist_ok=True)
        p.target.write_text(p.text, encoding="utf-8")
        say(f"wrote {p.target} from {p.solution}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when notebooks/ is stale or leaks solution code")
    parser.add_argument("--force", action="store_true",
                        help="also overwrite student notebooks that were edited (backs them up first)")
    parser.add_argument("--solutions", type=Path, help="solution folder (default: solutions/)")
    parser.add_argument("--notebooks", type=Path, help="student folder (default: notebooks/)")


def run(args: argparse.Namespace) -> int:
    root = course_dir()
    solutions = args.solutions or root / "solutions"
    notebooks = args.notebooks or root / "notebooks"
    if not solutions.is_dir():
        print(f"error: {solutions} is not a folder. Run this in the course folder, or pass "
              f"--solutions.", file=sys.stderr)
        return 2
    plans, problems = plan(solutions, notebooks)
    for extra in orphans(notebooks, plans):
        print(f"note: {extra} has no solution notebook in {solutions}; it is left alone.")
    if args.check:
        problems += check(plans)
        for line in problems:
            print(f"error: {line}", file=sys.stderr)
        if problems:
            print("Run `vae-course build` and commit notebooks/ (CI runs `vae-course build "
                  "--check`).", file=sys.stderr)
            return 1
        print(f"ok: {len(plans)} student notebooks in {notebooks} are up to date, no leaks.")
        return 0
    if problems:
        for line in problems:
            print(f"error: {line}", file=sys.stderr)
        print("Nothing was written. Fix the solution notebooks and build again.", file=sys.stderr)
        return 1
    write(plans, args.force)
    return 0
