"""How long grading takes per student, and that the fast run grades as the full run does.

Makes one student's hand-in from the solution notebooks (every exercise answered, each
notebook a student version with the solutions put back), warms the model cache by
grading it once, then grades it with ``vae-course grade`` twice more: the default run
(only the cells the checks depend on) and ``--full`` (every cell, top to bottom). Prints
the seconds per notebook and per student for each, the students per hour that follows,
and whether the two gradebooks agree exercise by exercise.

    python benchmarks/grade_speed.py                  # the eight lessons
    python benchmarks/grade_speed.py --lessons 03 07  # some of them
    python benchmarks/grade_speed.py --skip-full      # the default run only
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


def hand_in(folder: Path, lessons: list[str]) -> list[Path]:
    """One student's notebooks, every exercise solved, in ``folder``/student/."""
    paths = []
    for solution_path in sorted((REPO / "solutions").glob("*.ipynb")):
        if lessons and solution_path.stem[:2] not in lessons:
            continue
        solution = nbformat.read(solution_path, as_version=4)
        nb = put_back(student_notebook(solution, solution_path.stem), solution)
        path = folder / "student" / solution_path.name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        paths.append(path)
    return paths


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
    return seconds, {(Path(r["notebook"]).stem, r["exercise"]): r["status"] for r in rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lessons", nargs="*", default=[], help="two-digit lesson numbers")
    parser.add_argument("--skip-full", action="store_true", help="do not time --full")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = hand_in(tmp / "class", args.lessons)
        print(f"one student, {len(paths)} notebooks; warming the model cache ...", flush=True)
        grade(paths, tmp / "warm", tmp / "warm.json")  # trains what the cache lacks
        runs = {"default": grade(paths, tmp / "fast", tmp / "fast.json")}
        if not args.skip_full:
            runs["--full"] = grade(paths, tmp / "full", tmp / "full.json", "--full")
    for name, (seconds, grades) in runs.items():
        passed = sum(s == "passed" for s in grades.values())
        print(f"{name:>8}: {seconds:6.1f} s per student ({seconds / len(paths):.1f} s per "
              f"notebook), {3600 / seconds:.0f} students per hour; {passed}/{len(grades)} "
              f"exercises passed")
    if "--full" in runs:
        same = runs["default"][1] == runs["--full"][1]
        print(f"same grades as the full run: {same}")
        return 0 if same else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
