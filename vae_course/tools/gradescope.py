"""``vae-course gradescope OUT.zip``: an autograder for Gradescope that runs ``vae-course grade``.

    vae-course gradescope lesson07.zip --lesson 07_conditional_vae --points points.toml
    vae-course gradescope lesson07.zip --lesson 07 --extra-checks ~/private_checks.py --overwrite

Upload OUT.zip as a programming assignment's autograder (base image Ubuntu 24.04, for
Python 3.11+). At its root: the course's wheel (built here, offline, from this clone; it
holds the shipped weights), ``config.json`` (lessons, time limit), the points and extra
checks files, and Gradescope's two scripts (in ``gradescope_files/``):

* ``setup.sh``, run once as Gradescope builds the image: a virtual environment
  ``/autograder/venv`` with PyTorch's CPU-only wheels from download.pytorch.org/whl/cpu
  (PyPI's default ones bring CUDA, gigabytes a grader never uses; for others, edit
  setup.sh and zip again), then the wheel and the data, and the trained models of this
  machine's cache (``models/`` in the zip: what running the solution notebooks trained)
  into the container's model cache, so that grading a submission never trains one.
* ``run_autograder``, run once per submission: grades every ``.ipynb`` in
  ``/autograder/submission/`` with ``vae-course grade --json`` and writes
  ``/autograder/results/results.json``: ``score`` (the tests' sum), ``execution_time``,
  ``output`` (what was graded, notes) and one test per exercise with its points and the
  grader's message. The course's exercises are ``visible`` (students see the hints at
  once), those of ``--extra-checks`` ``after_published``; the grader's printout is for
  instructors only.

``--lesson`` (``07_conditional_vae`` or ``07``): every exercise of those lessons is a test of
every submission (a lesson without a notebook scores 0 and says what to upload); notebooks
of other lessons are not graded. Without it a submission's tests are the exercises of the
lessons it holds. Of two notebooks of one lesson, the one with more points counts.

Both scripts read ``${AUTOGRADER_ROOT:-/autograder}`` (tests point it at a folder of their
own), and ``VAE_COURSE_DATA`` / ``VAE_COURSE_CACHE`` when set (default ``data/``, ``cache/``
under that root). Where the container allows no sandbox, a submission runs unconfined in
its own container: it could tamper with its own results, but no one else's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path

from . import grade, gradebook, grader_cell
from ..checks import EXERCISES
from ..checks.results import Status
from .gradebook import NO_EXERCISE, Row
from ..train import cache_dir
from .submissions import SubmissionError, known_lessons, lesson_of, read_submission

FILES = Path(__file__).with_name("gradescope_files")  # setup.sh and run_autograder
SCRIPTS = ("setup.sh", "run_autograder")
CONFIG, EXTRA, MODELS = "config.json", "extra_checks.py", "models"
DEFAULT_TIMEOUT = 120.0  # seconds per cell: no cell trains, the models are in the image
YOU = "you"  # the student of every notebook of a submission


# ---- building the zip ----------------------------------------------------------------

def build_wheel(folder: Path) -> Path:
    """The course's wheel, built offline in ``folder`` from a clean copy of the clone this
    installation runs from (an editable install, as ``python3 course.py`` makes)."""
    source, src = Path(__file__).resolve().parents[2], folder / "src"
    if not ((source / "pyproject.toml").is_file() and (source / "notebooks").is_dir()):
        raise RuntimeError(f"no source tree of the course at {source} (installed from a "
                           f"wheel?); run this from a clone of the course.")
    src.mkdir()
    for path in (source / "pyproject.toml", source / "README.md", *source.glob("LICENSE*")):
        shutil.copy2(path, src / path.name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
    for name in ("vae_course", "notebooks"):
        shutil.copytree(source / name, src / name, ignore=ignore)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                           "--no-build-isolation", "--no-index", "--wheel-dir",
                           str(folder / "dist"), str(src)], capture_output=True, text=True)
    wheels = sorted((folder / "dist").glob("vae_course-*.whl"))
    if done.returncode != 0 or len(wheels) != 1:
        raise RuntimeError(f"building the course's wheel failed (it needs pip and setuptools "
                           f"here: pip install setuptools): {done.stderr.strip()[-400:]}")
    return wheels[0]


def cached_models() -> list[Path]:
    """The trained models in this machine's cache (what running the notebooks trained), so
    that the container loads them rather than training them again for every submission."""
    return sorted(cache_dir().glob("*.pt"))


def chosen_lessons(names: list[str], known: list[str]) -> list[str]:
    """Each lesson named by its full name or its number; raises ValueError for others."""
    out = {}
    for name in names:
        found = [lesson for lesson in known if name in (lesson, lesson.split("_")[0])]
        if len(found) != 1:
            raise ValueError(f"unknown lesson {name!r}; the lessons are {', '.join(known)}.")
        out[found[0]] = None
    return list(out)


def write_zip(out: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` into the zip ``out`` at once (never half a file), scripts executable."""
    partial = out.with_name(f".{out.name}.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = (0o100755 if name in SCRIPTS else 0o100644) << 16
            z.writestr(info, content, zipfile.ZIP_DEFLATED)
    os.replace(partial, out)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", type=Path, metavar="OUT.zip", help="the autograder zip to write")
    parser.add_argument("--lesson", nargs="+", action="extend", default=[], metavar="LESSON",
                        help="the assignment's lessons, e.g. 07_conditional_vae or 07 (default: "
                             "the lessons of the notebooks each student hands in)")
    parser.add_argument("--points", type=Path,
                        help="a TOML or JSON file of `exercise = points` (default 1 point each)")
    parser.add_argument("--extra-checks", type=Path,
                        help="a .py file of hidden checks (shown once grades are published)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help=f"seconds one cell may run (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT.zip if it exists")


def run(args: argparse.Namespace) -> int:
    out = args.out
    try:
        if out.is_dir() or out.suffix != ".zip":
            raise ValueError(f"{out} is not a .zip file name; give one, e.g. autograder.zip.")
        if out.exists() and not args.overwrite:
            raise ValueError(f"{out} already exists; give a new name, or add --overwrite.")
        if not out.parent.is_dir():
            raise ValueError(f"folder {out.parent} does not exist; create it first.")
        if not args.timeout > 0:
            raise ValueError(f"--timeout must be a number of seconds above 0, "
                             f"not {args.timeout:g}.")
        extra = args.extra_checks.resolve() if args.extra_checks else None
        registry = grader_cell.registry(str(extra) if extra else None)
        lessons = chosen_lessons(args.lesson, known_lessons(registry))
        points = gradebook.load_points(args.points, set(registry)) if args.points else {}
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    config = {"lessons": lessons, "timeout": args.timeout, "points": None, "extra_checks": None}
    files = {}
    if args.points:
        config["points"] = "points.json" if args.points.suffix == ".json" else "points.toml"
        files[config["points"]] = args.points.read_bytes()
    if extra:
        config["extra_checks"] = EXTRA
        files[EXTRA] = extra.read_bytes()
    with tempfile.TemporaryDirectory(prefix="vae-course-gradescope-") as tmp:
        try:
            wheel = build_wheel(Path(tmp))
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        files[wheel.name] = wheel.read_bytes()
    models = cached_models()
    files.update({f"{MODELS}/{m.name}": m.read_bytes() for m in models})
    setup = (FILES / "setup.sh").read_text(encoding="utf-8").replace("@WHEEL@", wheel.name)
    files.update({"setup.sh": setup.encode(), CONFIG: json.dumps(config, indent=2).encode(),
                  "run_autograder": (FILES / "run_autograder").read_bytes()})
    write_zip(out, files)
    print(f"wrote {out}: {', '.join(f for f in files if not f.startswith(MODELS))} and "
          f"{len(models)} trained models from {cache_dir()}; upload it as the assignment's "
          f"autograder.")
    if not models:
        print(f"note: the model cache {cache_dir()} is empty: run each solution notebook once "
              f"(or `vae-course grade` on one solved submission per lesson), then build the zip "
              f"again, or the container trains the course's models on each submission.",
              file=sys.stderr)
    for e in (e for e in registry.values() if e.notebook in lessons):
        print(f"  {e.notebook}: {e.name}, {points.get(e.name, gradebook.DEFAULT_POINTS):g} points"
              + ("" if e.name in EXERCISES else ", hidden until grades are published"))
    return 0


# ---- inside the container: grading one submission ------------------------------------

def graded_rows(folder: Path, files: list[Path], source: Path, config: dict) -> list[Row]:
    """``vae-course grade --json`` on ``files`` (relative to ``folder``), read back as rows."""
    with tempfile.TemporaryDirectory(prefix="vae-course-gradescope-") as tmp, \
            contextlib.chdir(folder):
        out = Path(tmp) / "grades.json"
        argv = ["--json", str(out), "--timeout", str(config["timeout"])]
        argv += ["--points", str(source / config["points"])] if config["points"] else []
        argv += ["--extra-checks", str(source / EXTRA)] if config["extra_checks"] else []
        parser = argparse.ArgumentParser(prog="vae-course grade")
        grade.add_arguments(parser)
        code = grade.run(parser.parse_args([*argv, "--", *map(str, files)]))
        if code != 0:
            raise RuntimeError(f"vae-course grade stopped with exit status {code}")
        results = json.loads(out.read_text(encoding="utf-8"))["results"]
    return [Row(**{k: v for k, v in r.items() if k in Row.__dataclass_fields__}) for r in results]


def entry_of(row: Row) -> dict:
    """One test of results.json, from one exercise's row."""
    return {"name": f"{row.lesson}: {row.exercise}", "score": row.points,
            "max_score": row.max_points, "output": f"{row.status}: {row.message}",
            "visibility": "after_published" if row.hidden else "visible"}


def submitted(folder: Path, lessons: list[str], known: list[str]) -> tuple[list[Path], list[str]]:
    """The notebooks to grade (relative to ``folder``), and notes on those left out."""
    files, notes = [], []
    for path in sorted(folder.rglob("*.ipynb")):
        name = path.relative_to(folder)
        if any(part.startswith(".") for part in name.parts):
            continue  # .ipynb_checkpoints and other hidden files
        try:
            lesson = lesson_of(read_submission(path), path, known)
        except SubmissionError:
            lesson = None  # the grader says why
        if lessons and lesson and lesson not in lessons:
            notes.append(f"{name}: not graded: it is lesson {lesson}, and this assignment "
                         f"grades {', '.join(lessons)}.")
        else:
            files.append(name)
    return files, notes


def autograde(root: Path) -> dict:
    """Grade ``root/submission`` as ``root/source/config.json`` says: results.json's content."""
    source, folder = root / "source", root / "submission"
    config = json.loads((source / CONFIG).read_text(encoding="utf-8"))
    registry = grader_cell.registry(str(source / EXTRA) if config["extra_checks"] else None)
    points = (gradebook.load_points(source / config["points"], set(registry))
              if config["points"] else {})
    lessons = config["lessons"]
    files, notes = submitted(folder, lessons, known_lessons(registry))
    rows = graded_rows(folder, files, source, config) if files else []
    for row in rows:
        row.student = YOU
    best, more = gradebook.per_student([r for r in rows if r.exercise != NO_EXERCISE])
    notes += [f"{r.notebook}: {r.message}" for r in rows if r.exercise == NO_EXERCISE] + more
    graded = [r for r in rows if r.exercise != NO_EXERCISE
              and r.notebook in (best[YOU]["notebooks"] if best else [])]
    for lesson in (lesson for lesson in lessons if lesson not in {r.lesson for r in graded}):
        why = next((r for r in rows if r.lesson == lesson), None)  # a notebook not graded
        status, message = ((Status.ERROR, f"not graded: {why.notebook}: {why.message}") if why
                           else (Status.NOT_ATTEMPTED, f"no notebook of lesson {lesson} in your "
                                                       f"submission: upload {lesson}.ipynb."))
        missing = [Row("", lesson, e.name, status, message, hidden=e.name not in EXERCISES)
                   for e in registry.values() if e.notebook == lesson]
        gradebook.award(missing, points)
        graded += missing
    tests = [entry_of(r) for r in sorted(graded, key=lambda r: r.lesson)]
    summary = [f"{notebook}: {entry['passed']} of {entry['checks']} exercises passed, "
               f"{entry['points']:g} of {entry['max_points']:g} points."
               for notebook, entry in gradebook.per_notebook(graded).items() if notebook]
    if not files:
        summary.append("No notebook (.ipynb) found in your submission." + (
            f" Upload {', '.join(f'{lesson}.ipynb' for lesson in lessons)}." if lessons else ""))
    if any(t["visibility"] == "after_published" for t in tests):
        summary.append("Some checks stay hidden until grades are published.")
    return {"score": sum(t["score"] for t in tests), "output": "\n".join(summary + notes),
            "tests": tests}


def main(root: Path) -> int:
    """Write ``root/results/results.json``, whatever happens (run_autograder's entry)."""
    start, status = time.monotonic(), 0
    try:
        results = autograde(root)
    except (Exception, SystemExit) as exc:  # the student is still owed a message
        traceback.print_exc()
        results = {"score": 0, "tests": [], "output": f"The autograder failed "
                   f"({type(exc).__name__}: {exc}); tell your instructor."}
        status = 1
    results.update(execution_time=round(time.monotonic() - start), stdout_visibility="hidden")
    out = root / "results" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return status


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1] if len(sys.argv) > 1 else
                               os.environ.get("AUTOGRADER_ROOT", "/autograder"))))
