"""``vae-course grade PATH...``: grade submitted notebooks and print a table.

    vae-course grade submissions/                       # a folder (searched recursively)
    vae-course grade alice.ipynb bob.ipynb --csv grades.csv --json grades.json
    vae-course grade submissions/ --timeout 120 --extra-checks ~/private_checks.py
    vae-course grade submissions/ --points points.toml --csv grades.csv --feedback feedback/

Each submission is read, copied into a temporary folder and run there in a fresh
kernel, cell by cell (errors allowed, each cell under ``--timeout`` seconds), inside a
sandbox where one is available (:mod:`.sandbox`). Then the grader runs its own check
of every exercise of the lesson, so a deleted or edited check cell does not matter,
and reads the code for copies of the course's reference (:mod:`.copying`). The rows
go to a gradebook (:mod:`.gradebook`, :mod:`.feedback`). Submissions are never
modified. The exit status says whether grading could run (0), not whether students
passed.
"""

from __future__ import annotations

import argparse
import copy
import re
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from . import feedback, grade_store, gradebook, grader_cell, sandbox
from ..checks.core import Exercise
from ..checks.results import Status
from ..train import cache_dir
from .copying import copies_failed
from .graded_cells import cells_needed
from .gradebook import NO_EXERCISE, Row
from .notebook_exec import CellRun, CellStatus, KernelSession, kernel_env
from .student_notebook import clear_outputs
from .submissions import (SubmissionError, known_lessons, lesson_of,  # noqa: F401
                          read_submission, submissions)

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
                   keep: Path | None = None, full: bool = False) -> list[tuple[str, str]]:
    """(status, message) per exercise, for a submission already parsed.

    The notebook runs in a fresh kernel whose working folder is a new temporary folder
    (named as any temporary folder, the notebook under its own ``name``), in the sandbox
    when ``confine`` (see :mod:`vae_course.tools.sandbox`; ``hide``: what it must not
    read). An exercise answered with the course's reference is failed. A cell that ends
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
    with tempfile.TemporaryDirectory() as tmp:
        nbformat.write(nb, Path(tmp) / name)
        workspace = sandbox.Workspace(Path(tmp), confine, hide)
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
               keep: Path | None = None, full: bool = False) -> list[Row]:
    """The rows of one submission; problems with the file become a single error row.

    ``keep``: where to write the executed notebook (None: not kept)."""
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
                                 name=feedback.safe_name(path.name), keep=keep, full=full)
    except Exception as exc:  # e.g. the kernel could not start
        return [Row(shown, lesson, NO_EXERCISE, Status.ERROR,
                    f"could not run the notebook: {type(exc).__name__}: {exc}")]
    return [Row(shown, lesson, e.name, status, message, hidden=e.name not in public)
            for e, (status, message) in zip(exercises, outcome)]


def printable(text: str) -> str:
    """``text`` safe to print and write as UTF-8: a file name's undecodable bytes as escapes."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def shown_path(path: Path) -> str:
    try:
        shown = str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        shown = str(path)
    return printable(shown)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                        help="submitted notebooks, or folders holding them")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help=f"seconds one cell may run (default {DEFAULT_TIMEOUT})")
    parser.add_argument("--notebook-timeout", type=float, default=None,
                        help="seconds one whole notebook may run (default: no limit)")
    parser.add_argument("--extra-checks", type=Path,
                        help="a .py file of hidden checks, kept away from students")
    parser.add_argument("--results", type=Path, metavar="DIR",
                        help="keep each submission's result here as soon as it is graded; a "
                             "rerun skips what is already graded (default: grades/ in the "
                             "course's cache, next to the trained models)")
    parser.add_argument("--shard", metavar="K/N",
                        help="grade only the K-th of N shares of the students (1 <= K <= N); "
                             "`vae-course merge` joins the shards' results")
    add_report_arguments(parser)
    add_run_arguments(parser)
    parser.add_argument("--keep-executed", type=Path, metavar="DIR",
                        help="keep each executed notebook (outputs capped) as "
                             "DIR/<student>/<file> for review")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run submissions unconfined even where bubblewrap is available")


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """How a submission is run (shared with ``vae-course check``)."""
    parser.add_argument("--full", action="store_true",
                        help="run every cell top to bottom, not only the cells the checks depend "
                             "on (same grades, slower)")


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that say where the gradebook goes (shared with ``vae-course merge``)."""
    parser.add_argument("--points", type=Path,
                        help="a TOML or JSON file of `exercise = points` (default 1 point each)")
    parser.add_argument("--overrides", type=Path, metavar="CSV",
                        help="change grades by hand: a CSV of student,lesson,exercise,points,"
                             "reason (the reason is kept in the gradebook and the feedback)")
    parser.add_argument("--csv", type=Path,
                        help="also write one row per student (points per exercise, total) here")
    parser.add_argument("--json", type=Path, help="also write every detail to this JSON file")
    parser.add_argument("--feedback", type=Path, metavar="DIR",
                        help="write DIR/<student>/<lesson>.md, one feedback file per notebook")
    parser.add_argument("--overwrite", action="store_true",
                        help="let --feedback (and --keep-executed) replace files already there")


def check_report_arguments(args: argparse.Namespace, exercises: set[str]) -> dict[str, float]:
    """The points per exercise (and ``args.override_list``); raises ValueError for a bad
    points or overrides file, or an output folder that holds files."""
    points = gradebook.load_points(args.points, exercises) if args.points else {}
    args.override_list = (gradebook.load_overrides(args.overrides, exercises)
                          if args.overrides else [])
    for option, folder in (("--feedback", args.feedback),
                           ("--keep-executed", getattr(args, "keep_executed", None))):
        if folder:
            feedback.check_folder(folder, args.overwrite, option)
    return points


def report(rows: list[Row], points: dict[str, float], args: argparse.Namespace,
           sandboxed: bool | None) -> None:
    """Award the points, apply the overrides, print the table and write the files asked for."""
    gradebook.award(rows, points)
    for note in gradebook.apply_overrides(rows, getattr(args, "override_list", [])):
        print(note, file=sys.stderr)
    print(gradebook.table(rows))
    for path in (args.csv, args.json):
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
    if args.csv:
        gradebook.write_csv(rows, args.csv)
        print(f"wrote {args.csv}")
    if args.json:
        gradebook.write_json(rows, args.json, sandboxed=sandboxed)
        print(f"wrote {args.json}")
    if args.feedback:
        written = feedback.write_feedback(rows, args.feedback, args.overwrite)
        print(f"wrote {len(written)} feedback files to {args.feedback}")


def given_folder(path: Path, given: list[Path]) -> Path | None:
    """The folder named on the command line that holds ``path`` (None for a file given)."""
    return next((g for g in given if g.is_dir() and g in path.parents), None)


class _Stop:
    """A SIGTERM handler (a job scheduler ending the task) that stops the run like Ctrl-C."""

    def __init__(self):
        self.signal = None

    def __call__(self, signum, frame):
        self.signal = signal.Signals(signum).name
        raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    missing = [p for p in args.paths if not p.exists()]
    if missing:
        print(f"error: not found: {', '.join(printable(str(p)) for p in missing)}. Give notebooks "
              f"or folders that exist.", file=sys.stderr)
        return 2
    extra = str(args.extra_checks.resolve()) if args.extra_checks else None
    try:
        shard = grade_store.parse_shard(args.shard) if args.shard else None
        registry = grader_cell.registry(extra)
        points = check_report_arguments(args, set(registry))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from ..checks import EXERCISES
    from .notebooks import course_dir

    files = submissions(args.paths)
    if not files:
        print(f"error: no files to grade in {', '.join(map(str, args.paths))}.", file=sys.stderr)
        return 2
    confine = not args.no_sandbox and sandbox.bwrap()[0] is not None
    note = sandbox.notice(confine, asked=not args.no_sandbox)
    if note:
        print(note, file=sys.stderr, flush=True)
    args.results = args.results or cache_dir() / "grades"
    hide = [*files, course_dir() / "solutions", args.results.resolve(),
            *([args.keep_executed.resolve()] if args.keep_executed else [])]
    lessons, rows = known_lessons(registry), []
    store = grade_store.Store(args.results)
    args.results.mkdir(parents=True, exist_ok=True)
    settings = grade_store.settings_digest(
        timeout=args.timeout, notebook_timeout=args.notebook_timeout, sandboxed=confine,
        full=args.full,
        extra=Path(extra).read_bytes().hex() if extra else None)
    students = [printable(gradebook.student_of(p, given_folder(p, args.paths), lessons))
                for p in files]
    chosen = [i for i, s in enumerate(students)
              if shard is None or grade_store.shard_of(s, shard[1]) == shard[0]]
    stop = _Stop()
    previous = signal.signal(signal.SIGTERM, stop)
    done = 0
    try:
        for n, i in enumerate(chosen, 1):
            path, shown = files[i], shown_path(files[i])
            try:
                content = path.read_bytes()
            except OSError:
                content = b""  # grade_file reports why it cannot be read
            key = grade_store.record_key(shown, content, settings)
            graded = store.get(key)
            if graded is None:
                start = time.monotonic()
                print(f"[{n}/{len(chosen)}] grading {shown} ...", file=sys.stderr, flush=True)
                keep = (args.keep_executed / feedback.safe_name(students[i])
                        / feedback.safe_name(path.name) if args.keep_executed else None)
                graded = grade_file(path, shown, registry, set(EXERCISES), extra, args.timeout,
                                    args.notebook_timeout, confine, hide, keep, args.full)
                for row in graded:
                    row.student = students[i]
                store.put(key, graded, path=shown, position=i, sandboxed=confine)
                print(f"  done in {time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)
            else:
                print(f"[{n}/{len(chosen)}] {shown}: graded before (kept in {args.results})",
                      file=sys.stderr, flush=True)
            rows += graded
            done += 1
    except KeyboardInterrupt:
        print(f"stopped by {stop.signal or 'Ctrl-C'}: {done} of {len(chosen)} submissions graded and kept in "
              f"{args.results}; run the same command again to grade the rest.",
              file=sys.stderr, flush=True)
        report(rows, points, args, sandboxed=confine)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    if shard:
        print(f"shard {shard[0]}/{shard[1]}: {len(chosen)} of {len(files)} submissions; "
              f"`vae-course merge {args.results}` joins the shards.", file=sys.stderr)
    report(rows, points, args, sandboxed=confine)
    return 0
