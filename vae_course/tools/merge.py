"""``vae-course merge DIR...``: one gradebook from the results that graders kept.

    vae-course grade class/ --results results/ --shard 1/4   # ... one task per shard
    vae-course merge results/ --points points.toml --csv grades.csv --json grades.json

Reads every record in the folders (see :mod:`.grade_store`), keeps the newest one of
each submission, and writes the same table, CSV, JSON and feedback files as a single
``vae-course grade`` run over the whole class would.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import grade, grader_cell
from .grade_store import collect, rows_of


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folders", nargs="+", type=Path, metavar="DIR",
                        help="results folders written by `vae-course grade --results DIR`")
    parser.add_argument("--extra-checks", type=Path,
                        help="the hidden checks the graders used (for the names in --points)")
    grade.add_report_arguments(parser)


def run(args: argparse.Namespace) -> int:
    missing = [d for d in args.folders if not d.is_dir()]
    if missing:
        print(f"error: no results folder {', '.join(map(str, missing))}: give the folders "
              f"passed to `vae-course grade --results`.", file=sys.stderr)
        return 2
    try:
        registry = grader_cell.registry(str(args.extra_checks.resolve())
                                        if args.extra_checks else None)
        points = grade.check_report_arguments(args, set(registry))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    records = collect(args.folders)
    if not records:
        print(f"error: no graded submissions in {', '.join(map(str, args.folders))}.",
              file=sys.stderr)
        return 2
    rows = [row for record in records for row in rows_of(record)]
    grade.report(rows, points, args, sandboxed=all(r["sandboxed"] for r in records))
    return 0
