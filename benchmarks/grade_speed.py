"""How long grading takes per student, and that the fast run grades as the full run does.

Makes a class of three students from the solution notebooks (every exercise answered,
each notebook a student version with the solutions put back), warms the model cache by
grading one of them, then grades the class with ``vae-course grade`` twice more: the
default run (only the cells the checks depend on) and ``--full`` (every cell, top to
bottom). Prints the seconds per student (the whole run divided by the students: each
student's share of starting kernels included) and per notebook, the students per hour
that follows, and whether the two gradebooks agree exercise by exercise.

    python benchmarks/grade_speed.py                  # the eight lessons
    python benchmarks/grade_speed.py --lessons 03 07  # some of them
    python benchmarks/grade_speed.py --skip-full      # the default run only
    python benchmarks/grade_speed.py --students 1     # one student alone
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vae_course.tools import cli  # noqa: E402  (after the path is set, for a clone)
from vae_course.tools.student_notebook import put_back, student_notebook  # noqa: E402


def hand_in(folder: Path, lessons: list[str], students: int = 1) -> list[Path]:
    """``students`` students' notebooks, every exercise solved, in ``folder``/student<k>/."""
    paths = []
    for solution_path in sorted((REPO / "solutions").glob("*.ipynb")):
        if lessons and solution_path.stem[:2] not in lessons:
            continue
        solution = nbformat.read(solution_path, as_version=4)
        nb = put_back(student_notebook(solution, solution_path.stem), solution)
        for k in range(1, students + 1):
            path = folder / f"student{k}" / solution_path.name
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, path)
            paths.append(path)
    return sorted(paths)


def grade(paths: list[Path], results: Path, out: Path, *options: str) -> tuple[float, dict]:
    """Seconds to grade ``paths`` one after another, and {(notebook, exercise): status}."""
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = cli.main(["grade", *map(str, paths), "--results", str(results),
                         "--json", str(out), *options])
    seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"grading failed with exit status {code}")
    rows = json.loads(out.read_text())["results"]
    return seconds, {(r["student"], Path(r["notebook"]).stem, r["exercise"]): r["status"]
                     for r in rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lessons", nargs="*", default=[], help="two-digit lesson numbers")
    parser.add_argument("--skip-full", action="store_true", help="do not time --full")
    parser.add_argument("--students", type=int, default=3,
                        help="students in the class graded (default 3: the figure per student "
                             "includes each one's share of starting the kernels)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = hand_in(tmp / "class", args.lessons, args.students)
        print(f"{args.students} students, {len(paths) // args.students} notebooks each; "
              f"warming the model cache ...", flush=True)
        grade(paths[:len(paths) // args.students], tmp / "warm", tmp / "warm.json")
        runs = {"default": grade(paths, tmp / "fast", tmp / "fast.json")}
        if not args.skip_full:
            runs["--full"] = grade(paths, tmp / "full", tmp / "full.json", "--full")
    for name, (seconds, grades) in runs.items():
        passed = sum(s == "passed" for s in grades.values())
        per_student = seconds / args.students
        print(f"{name:>8}: {per_student:6.1f} s per student ({seconds / len(paths):.1f} s per "
              f"notebook, {seconds:.0f} s in all), {3600 / per_student:.0f} students per hour; "
              f"{passed}/{len(grades)} exercises passed")
    if "--full" in runs:
        same = runs["default"][1] == runs["--full"][1]
        print(f"same grades as the full run: {same}")
        return 0 if same else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
