"""``vae-course grade PATH...``: grade submitted notebooks and print a table.

    vae-course grade submissions/                       # a folder (searched recursively)
    vae-course grade alice.ipynb bob.ipynb --csv grades.csv --json grades.json
    vae-course grade submissions/ --timeout 120 --extra-checks ~/private_checks.py
    vae-course grade submissions/ --points points.toml --csv grades.csv --feedback feedback/
    vae-course grade submissions/ --jobs 4                  # four students at once

Each submission is graded on a fresh kernel by :mod:`.grading` (the grader's own check
of every exercise of the lesson, so a deleted or edited check cell does not matter);
one student's kernels are forked by one warm server (:mod:`.kernel_server`), and
``--jobs N`` grades N students at once, each with a server of its own;
its rows kept as soon as it is done (:mod:`.grade_store`: a rerun resumes, ``--shard``
splits a class), then the rows go to a gradebook (:mod:`.gradebook`, :mod:`.feedback`).
Submissions are never modified. The exit status says whether grading could run (0), not
whether students passed.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tqdm import tqdm

from . import feedback, grade_store, gradebook, grader_cell, sandbox
from ..train import cache_dir
from .gradebook import Row
from .grading import DEFAULT_TIMEOUT, grade_file
from .kernel_server import KernelServer
from .submissions import known_lessons, submissions

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
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="grade N students at once (default 1; about one per two cores)")
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


class _Progress:
    """A line per submission saying how far the class is and the time left; where the
    output is a terminal, also a bar."""

    def __init__(self, total: int, done: int, students: int, students_done: int):
        self.total, self.done, self.students = total, done, students
        self.students_done, self.before, self.start = students_done, done, time.monotonic()
        self.bar = tqdm(total=total, initial=done, unit="notebook", file=sys.stderr,
                        disable=None, dynamic_ncols=True, leave=False)
        self.lock = threading.Lock()

    def say(self, text: str) -> None:
        with self.lock:
            tqdm.write(text, file=sys.stderr)
            sys.stderr.flush()

    def graded(self, shown: str, seconds: float, last_of_student: bool) -> None:
        with self.lock:
            self.done += 1
            self.students_done += last_of_student
            rate = (time.monotonic() - self.start) / (self.done - self.before)
            left = rate * (self.total - self.done)
            self.bar.set_postfix_str(f"{self.students_done}/{self.students} students",
                                     refresh=False)
            self.bar.update()
            tqdm.write(f"  {shown}: done in {seconds:.0f} s; {self.done}/{self.total} notebooks, "
                       f"{self.students_done}/{self.students} students, about "
                       f"{_duration(left)} left", file=sys.stderr)
            sys.stderr.flush()

    def close(self) -> None:
        self.bar.close()


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def run(args: argparse.Namespace) -> int:
    missing = [p for p in args.paths if not p.exists()]
    if missing:
        print(f"error: not found: {', '.join(printable(str(p)) for p in missing)}. Give notebooks "
              f"or folders that exist.", file=sys.stderr)
        return 2
    if args.jobs < 1:
        print(f"error: --jobs {args.jobs}: give a number of submissions to grade at once, "
              f"1 or more.", file=sys.stderr)
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
    lessons = known_lessons(registry)
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
    keys, graded = {}, {}
    for i in chosen:
        try:
            content = files[i].read_bytes()
        except OSError:
            content = b""  # grade_file reports why it cannot be read
        keys[i] = grade_store.record_key(shown_path(files[i]), content, settings)
        kept = store.get(keys[i])
        if kept is not None:
            graded[i] = kept
            print(f"{shown_path(files[i])}: graded before (kept in {args.results})",
                  file=sys.stderr, flush=True)
    by_student: dict[str, list[int]] = {}
    for i in chosen:
        if i not in graded:
            by_student.setdefault(students[i], []).append(i)
    stop, stopping = _Stop(), threading.Event()
    previous = signal.signal(signal.SIGTERM, stop)
    everyone = {students[i] for i in chosen}
    progress = _Progress(len(chosen), len(graded), len(everyone), len(everyone - set(by_student)))
    lock, servers = threading.Lock(), set()

    # N students at once share the cores: each one's kernels get 1/N of them
    threads = ({} if args.jobs == 1 or "OMP_NUM_THREADS" in os.environ else
               {"OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // args.jobs))})

    order, begun, ahead = list(by_student), set(), {}

    def server_for(student: str, scratch: Path) -> KernelServer | None:
        """The student's kernel server, started ahead where it could be; and the next
        student's started now, to import while this one is graded (None once stopped)."""
        def new(who: str) -> KernelServer:
            server = KernelServer(Path(tempfile.mkdtemp(dir=scratch)), confine, hide, threads,
                                  warm=len(by_student[who]) > 1)
            servers.add(server)
            return server

        with lock:
            if stopping.is_set():
                return None
            begun.add(student)
            server = ahead.pop(student, None) or new(student)
            waiting = [s for s in order if s not in begun and s not in ahead]
            if waiting and len(ahead) < args.jobs:
                ahead[waiting[0]] = new(waiting[0]).start()
        return server

    def grade_student(student: str, scratch: Path) -> None:
        """One student's notebooks, one after another, on kernels forked by one server."""
        server = server_for(student, scratch)
        if server is None:
            return
        with server:
            for i in by_student[student]:
                if stopping.is_set():
                    return
                path, shown = files[i], shown_path(files[i])
                start = time.monotonic()
                progress.say(f"grading {shown} ...")
                keep = (args.keep_executed / feedback.safe_name(student)
                        / feedback.safe_name(path.name) if args.keep_executed else None)
                rows = grade_file(path, shown, registry, set(EXERCISES), extra, args.timeout,
                                  args.notebook_timeout, confine, hide, keep, args.full, server)
                with lock:
                    if stopping.is_set():
                        return  # cut short by the stop: not a grade
                    for row in rows:
                        row.student = student
                    store.put(keys[i], rows, path=shown, position=i, sandboxed=confine)
                    graded[i] = rows
                progress.graded(shown, time.monotonic() - start, i == by_student[student][-1])
        with lock:
            servers.discard(server)

    with tempfile.TemporaryDirectory() as scratch:
        # Each student's kernels write only in a folder of their own under ``scratch``;
        # the rest of ``scratch`` (other students' folders) is hidden from them.
        hide = [*files, course_dir() / "solutions", args.results.resolve(), Path(scratch),
                *([args.keep_executed.resolve()] if args.keep_executed else [])]
        pool = ThreadPoolExecutor(max_workers=args.jobs)
        try:
            futures = [pool.submit(grade_student, student, Path(scratch))
                       for student in by_student]
            for future in futures:
                future.result()
        except KeyboardInterrupt:
            stopping.set()
            with lock:
                for server in list(servers):
                    server.close()  # its kernels end; the student being graded is not kept
            pool.shutdown(wait=True, cancel_futures=True)
            progress.close()
            rows = [row for i in chosen if i in graded for row in graded[i]]
            print(f"stopped by {stop.signal or 'Ctrl-C'}: {len(graded)} of {len(chosen)} "
                  f"submissions graded and kept in {args.results}; run the same command again "
                  f"to grade the rest.", file=sys.stderr, flush=True)
            report(rows, points, args, sandboxed=confine)
            return 130
        finally:
            pool.shutdown(wait=True)
            for server in list(servers):  # started ahead for a student never reached
                server.close()
            signal.signal(signal.SIGTERM, previous)
    progress.close()
    rows = [row for i in chosen for row in graded[i]]
    if shard:
        print(f"shard {shard[0]}/{shard[1]}: {len(chosen)} of {len(files)} submissions; "
              f"`vae-course merge {args.results}` joins the shards.", file=sys.stderr)
    report(rows, points, args, sandboxed=confine)
    return 0
