"""Grading one submission: run it on a fresh kernel, check every exercise, say why.

:func:`grade_file` reads a submission and gives its rows; :func:`grade_notebook` copies
it into a temporary folder and runs it there cell by cell (errors allowed, each cell under
a time limit; only the cells the checks depend on, :mod:`.graded_cells`, unless ``full``),
inside a sandbox where one is available (:mod:`.sandbox`); then the grader's own check of
every exercise runs in that kernel (:mod:`.grader_cell`), is judged in this process, and
the code is read for copies of the course's reference (:mod:`.copying`).
:func:`resolve` turns how the cells ran and the check's verdict into a status and a
message, blaming a cell on an exercise only when the exercise needed it. Used by
``vae-course grade`` and ``vae-course check``.
"""

from __future__ import annotations

import contextlib
import copy
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from . import feedback, grader_cell, sandbox
from .kernel_server import KernelServer
from ..checks.core import Exercise
from ..checks.results import Status
from .copying import copies_failed
from .graded_cells import cells_needed
from .gradebook import NO_EXERCISE, Row
from .notebook_exec import CellRun, CellStatus, KernelSession, kernel_env
from .student_notebook import clear_outputs
from .submissions import SubmissionError, known_lessons, lesson_of, read_submission

DEFAULT_TIMEOUT = 600  # seconds per cell: enough to train a course model on a slow laptop
MAX_RESTARTS = 3  # times a notebook is run again without a cell that killed the kernel


# ---- which cells belong to which exercise ------------------------------------------

def exercise_cells(nb: NotebookNode, exercise: Exercise) -> tuple[list[int], list[int]]:
    """(cells defining the exercise's names, cells using them or its checker), 0-based."""
    names = "|".join(re.escape(n) for n in exercise.needs)
    defines = re.compile(rf"^\s*(?:async\s+)?def\s+(?:{names})\s*\(|^(?:{names})\s*=", re.M)
    checker_name = getattr(exercise.run, "__name__", f"check_{exercise.name}")
    uses = re.compile(rf"\b(?:{names}|{re.escape(checker_name)})\b")
    code = [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    return ([i for i, src in code if defines.search(src)],
            [i for i, src in code if uses.search(src)])


def first_line(nb: NotebookNode, index: int) -> str:
    lines = [line for line in nb.cells[index].source.split("\n") if line.strip()]
    return lines[0].strip()[:60] if lines else ""


def describe(nb: NotebookNode, run: CellRun) -> str:
    return f"cell {run.index + 1} (`{first_line(nb, run.index)}`)"


def resolve(exercise: Exercise, nb: NotebookNode, runs: list[CellRun], check: CellRun | None,
            result: dict | None, timeout: float) -> tuple[str, str]:
    """The (status, message) of one exercise, from how the cells ran and the grader's check.

    A cell that timed out or failed is blamed on the exercise only when the check needed
    it: the exercise's name is missing and the cell that defines it did not finish.
    """
    defining, _ = exercise_cells(nb, exercise)
    if result is not None:
        broken = [r for r in runs if r.index in defining and r.status in (
            CellStatus.ERROR, CellStatus.SKIPPED, CellStatus.TIMED_OUT)]
        if result["status"] == Status.NOT_ATTEMPTED and broken and "not defined" in result["message"]:
            run = broken[0]
            if run.status == CellStatus.TIMED_OUT:
                return Status.TIMED_OUT, (f"the exercise {describe(nb, run)} {run.evalue}, before "
                                          f"it was defined: an endless loop? Make sure your code "
                                          f"finishes, then run the notebook top to bottom.")
            what = (f"raised {run.ename}: {run.evalue}" if run.status == CellStatus.ERROR
                    else run.evalue)
            return Status.ERROR, f"the exercise {describe(nb, run)} {what}. Fix that cell and run it again."
        return Status(result["status"]), result["message"]
    if check is not None and check.status == CellStatus.TIMED_OUT:
        return Status.TIMED_OUT, (f"checking it took longer than {timeout:.0f} s: does your function "
                           f"finish for every input?")
    if check is not None and check.status == CellStatus.KERNEL_DIED:
        return Status.ERROR, "checking it ended the kernel: does your function call exit() or os._exit()?"
    if check is not None and check.status == CellStatus.ERROR:
        return Status.ERROR, f"the check could not run: {check.ename}: {check.evalue}"
    dead = [r for r in runs if r.status == CellStatus.KERNEL_DIED]
    if dead:
        return Status.ERROR, (f"not checked: the kernel died while running {describe(nb, dead[0])}. "
                       f"Run that cell alone to see why (exit(), os._exit(), out of memory?).")
    why = check.evalue if check else "an earlier cell stopped the notebook"
    return (Status.TIMED_OUT if "limit" in why or "busy" in why else Status.ERROR), \
        f"not checked: {why}."


# ---- grading -----------------------------------------------------------------------

@dataclass
class Attempt:
    """One run of a submission on a fresh kernel, and what it decided."""

    outcome: list[tuple[str, str]]  # (status, message) of the exercises it checked, in order
    culprit: int | None = None  # a student cell that ended or jammed the kernel: run again without it
    why: str = ""  # what that cell did
    executed: NotebookNode | None = None  # the student's cells with their outputs
    capped: list[int] = field(default_factory=list)  # student cells whose output was cut


def run_once(nb: NotebookNode, skip: dict[int, str], exercises: list[Exercise],
             extra: str | None, timeout: float, notebook_timeout: float | None,
             workspace: sandbox.Workspace, may_restart: bool, cells: set[int] | None) -> Attempt:
    """Run the student's cells but ``skip``, then the grader's checks, on a fresh kernel.

    Stops early when a student cell ends the kernel or ignores the interrupt after its
    time limit (``may_restart``: the caller runs the notebook again without it), or when a
    check ends the kernel (the exercises after it are left for another run). ``cells``:
    the code cells to run (None: all of them).
    """
    n_student = len(nb.cells)
    with KernelSession(nb, workspace.folder, timeout, notebook_timeout,
                       kernel_env(workspace.env()), client_options=workspace.manager_options()) \
            as kernel:
        runs = []
        for i in range(n_student):
            if i in skip:
                runs.append(CellRun(i, CellStatus.SKIPPED, evalue=skip[i]))
            elif cells is not None and i not in cells and nb.cells[i].cell_type == "code":
                runs.append(CellRun(i, CellStatus.NOT_RUN, evalue="no check depends on it"))
            else:
                runs.append(kernel.run(i))
            if kernel.culprit is not None and may_restart:
                why = ("ignored the interrupt after its time limit"
                       if runs[-1].status == CellStatus.TIMED_OUT else
                       "called exit() or quit()" if runs[-1].ename == "SystemExit"
                       else "killed the kernel")
                return Attempt([], kernel.culprit, why)
        kernel.client.capping = False  # the grader's records are kept whole
        outcome = []
        for exercise in exercises:
            nb.cells.append(nbformat.v4.new_code_cell(
                grader_cell.CELL.format(name=exercise.name, extra=extra)))
            check = kernel.run(len(nb.cells) - 1)
            result = grader_cell.verdict(exercise, nb.cells[-1])  # judged here, not there
            outcome.append(resolve(exercise, nb, runs, check, result, timeout))
            if kernel.culprit is not None and kernel.culprit >= n_student:
                break  # this check ended the kernel: the next ones need a fresh one
        executed = copy.deepcopy(nb)
        executed.cells = executed.cells[:n_student]
        return Attempt(outcome, executed=executed,
                       capped=[i for i in kernel.client.capped if i < n_student])


def grade_notebook(nb: NotebookNode, exercises: list[Exercise], extra: str | None,
                   timeout: float, notebook_timeout: float | None, confine: bool = False,
                   hide: list[Path] | None = None, name: str = "submission.ipynb",
                   keep: Path | None = None, full: bool = False,
                   server: KernelServer | None = None) -> list[tuple[str, str]]:
    """(status, message) per exercise, for a submission already parsed.

    The notebook runs in a fresh kernel forked by ``server`` (one student's; None: a
    server of its own, in the sandbox when ``confine``, see :mod:`.kernel_server`;
    ``hide``: what it must not read), whose working folder is a new temporary folder
    (named as any temporary folder, the notebook under its own ``name``). An exercise
    answered with the course's reference is failed. A cell that ends
    the kernel (``exit()``, ``os._exit()``) or ignores the interrupt after its time limit
    is skipped and the notebook run again, up to :data:`MAX_RESTARTS` times, so that the
    rest still gets graded. ``keep``: write the executed notebook there (outputs capped).
    Only the cells the checks depend on run (:mod:`.graded_cells`), unless ``full``.
    """
    nb = copy.deepcopy(nb)
    nb.cells = [clear_outputs(c) for c in nb.cells]
    skip: dict[int, str] = {}
    cells = None if full else cells_needed(nb, {n for e in exercises for n in e.needs})
    outcome: list[tuple[str, str]] = []
    capped: list[int] = []
    with contextlib.ExitStack() as stack:
        if server is None:
            root = stack.enter_context(tempfile.TemporaryDirectory())
            server = stack.enter_context(KernelServer(Path(root), confine, hide, warm=False))
        workspace = server.workspace()
        stack.callback(shutil.rmtree, workspace.folder, ignore_errors=True)
        nbformat.write(nb, workspace.folder / name)
        while len(outcome) < len(exercises):
            attempt = run_once(copy.deepcopy(nb), skip, exercises[len(outcome):], extra,
                               timeout, notebook_timeout, workspace, len(skip) < MAX_RESTARTS,
                               cells)
            if attempt.culprit is not None:
                skip[attempt.culprit] = attempt.why
                continue
            outcome += attempt.outcome
            capped = sorted(set(capped) | set(attempt.capped))
            if keep is not None and attempt.executed is not None:
                keep.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(attempt.executed, keep)
    notes = [f"cell {i + 1} (`{first_line(nb, i)}`) {why}, so it was skipped."
             for i, why in skip.items()]
    if capped:
        cells = ", ".join(f"cell {i + 1}" for i in capped)
        notes.append(f"{cells} printed more than the grader keeps; the rest of the output "
                     f"was dropped.")
    if notes:
        outcome = [(status, message + " Note: " + " ".join(notes)) for status, message in outcome]
    return copies_failed(nb, exercises, outcome)  # read, never run, in this process


def grade_file(path: Path, shown: str, registry: dict[str, Exercise], public: set[str],
               extra: str | None, timeout: float, notebook_timeout: float | None,
               confine: bool = False, hide: list[Path] | None = None,
               keep: Path | None = None, full: bool = False,
               server: KernelServer | None = None) -> list[Row]:
    """The rows of one submission; problems with the file become a single error row.

    ``keep``: where to write the executed notebook (None: not kept); ``server``: the
    student's kernel server (None: one for this submission alone)."""
    try:
        nb = read_submission(path)
        lesson = lesson_of(nb, path, known_lessons(registry))
    except SubmissionError as exc:
        return [Row(shown, "", NO_EXERCISE, Status.ERROR, str(exc))]
    exercises = [e for e in registry.values() if e.notebook == lesson]
    if not exercises:
        return [Row(shown, lesson, NO_EXERCISE, Status.ERROR, f"lesson {lesson} has no exercises to grade.")]
    try:
        outcome = grade_notebook(nb, exercises, extra, timeout, notebook_timeout, confine, hide,
                                 name=feedback.safe_name(path.name), keep=keep, full=full,
                                 server=server)
    except Exception as exc:  # e.g. the kernel could not start
        return [Row(shown, lesson, NO_EXERCISE, Status.ERROR,
                    f"could not run the notebook: {type(exc).__name__}: {exc}")]
    return [Row(shown, lesson, e.name, status, message, hidden=e.name not in public)
            for e, (status, message) in zip(exercises, outcome)]
