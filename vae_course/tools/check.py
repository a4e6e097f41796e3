"""``vae-course check NOTEBOOK``: what the grader will say, before you hand a notebook in.

    vae-course check 03_reparameterization.ipynb
    vae-course check notebooks/*.ipynb --timeout 300

Runs each notebook exactly as ``vae-course grade`` does (a copy, top to bottom, on a
fresh kernel, in the sandbox where there is one, then the grader's own check of every
exercise and its reading of the code) and prints each exercise's status and hint. No
points, no gradebook, and the notebook itself is not changed: "it passed in my
notebook" and the grade cannot disagree.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from . import grade, grader_cell, grading, sandbox
from ..checks import EXERCISES
from ..checks.results import Status
from .gradebook import NO_EXERCISE
from .kernel_server import KernelServer
from .notebooks import course_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK",
                        help="your notebooks (.ipynb), as you would hand them in")
    parser.add_argument("--timeout", type=float, default=grading.DEFAULT_TIMEOUT,
                        help=f"seconds one cell may run (default {grading.DEFAULT_TIMEOUT}, "
                             f"as the grader's)")
    grade.add_run_arguments(parser)
    parser.add_argument("--extra-checks", type=Path, help=argparse.SUPPRESS)  # instructors' tests
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run unconfined even where bubblewrap is available")


def run(args: argparse.Namespace) -> int:
    missing = [p for p in args.notebooks if not p.is_file()]
    if missing:
        print(f"error: no notebook {', '.join(grade.printable(str(p)) for p in missing)}: give "
              f"the path of your .ipynb file.", file=sys.stderr)
        return 2
    extra = str(args.extra_checks.resolve()) if args.extra_checks else None
    try:
        registry = grader_cell.registry(extra)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    confine = not args.no_sandbox and sandbox.bwrap()[0] is not None
    hide = [*args.notebooks, course_dir() / "solutions"]  # the kernel runs a copy, as in grading
    with tempfile.TemporaryDirectory() as root:
        server = KernelServer(Path(root), confine, hide, warm=len(args.notebooks) > 1)
        with server:
            for path in args.notebooks:
                check_one(path, args, registry, extra, confine, server)
    return 0


def check_one(path: Path, args: argparse.Namespace, registry: dict, extra: str | None,
              confine: bool, server: KernelServer) -> None:
    """Grade one notebook as the grader would and print each exercise's status and hint."""
    shown = grade.shown_path(path)
    print(f"checking {shown} as the grader will (a copy, on a fresh kernel) ...",
          file=sys.stderr, flush=True)
    rows = grading.grade_file(path, shown, registry, set(EXERCISES), extra, args.timeout,
                              None, confine, server=server, full=args.full)
    passed = sum(r.status == Status.PASSED for r in rows)
    print(f"{shown}: {passed} of {len(rows)} exercises pass")
    for r in rows:
        name = "the notebook" if r.exercise == NO_EXERCISE else r.exercise
        print(f"  {r.status.icon} {name}: {r.status}. {r.message}")
