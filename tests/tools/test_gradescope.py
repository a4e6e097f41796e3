"""`vae-course gradescope`: the autograder zip, unpacked into a stand-in for /autograder
(``AUTOGRADER_ROOT``) and run on real submissions, against `vae-course grade --json`.

setup.sh is not run (it installs from the network; this environment has the course
already): run_autograder finds the course on PATH, and the data and the model cache
through ``VAE_COURSE_DATA`` and ``VAE_COURSE_CACHE``, set to this environment's. Three
submissions, each graded by run_autograder: lesson 07 solved, with the toy lesson of the
extra checks solved; 07 with a wrong answer and an exercise left undone (and a damaged
notebook); the toy lesson not attempted (with a notebook of another lesson, which is not
graded). Then `vae-course grade --json` on the same files, which may reuse the records
that the autograder's grading kept (same paths, bytes and settings).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from fixtures.toy_lesson import CHECKS, LESSON, toy_solution

from vae_course import data, zoo
from vae_course.tools import cli, gradescope
from vae_course.tools.student_notebook import put_back, student_notebook

REPO = Path(__file__).resolve().parents[2]
REAL = "07_conditional_vae"
POINTS = "cvae_forward = 2\ndouble = 3\n"
TIMEOUT = "300"  # seconds per cell: generous on a busy machine; no cell here loops
VISIBILITY = {"visible", "hidden", "after_published", "after_due_date"}


def real(exercises: set[str] | None = None, wrong: bool = False) -> nbformat.NotebookNode:
    """notebooks/07's student notebook with the solution of ``exercises`` put back (with
    ``wrong``, mu and logvar swapped in ``cvae_forward``), cut to its first cell and the
    exercises' cells, as a student may hand it in: the grader runs its own checks, and
    the notebook's other cells (its models, figures and measures) would take most of the
    time grading does."""
    solution = nbformat.read(REPO / "solutions" / f"{REAL}.ipynb", as_version=4)
    nb = put_back(nbformat.read(REPO / "notebooks" / f"{REAL}.ipynb", as_version=4), solution,
                  exercises)
    imports = next(c for c in nb.cells if c.cell_type == "code")
    nb.cells = [imports] + [c for c in nb.cells
                            if re.match(r"(def |check_)(cvae_forward|redraw)\b", c.source)]
    assert len(nb.cells) == 5
    if wrong:
        assert "return logits, mu, logvar" in nb.cells[1].source
        nb.cells[1].source = nb.cells[1].source.replace("return logits, mu, logvar",
                                                        "return logits, logvar, mu")
    return nb


def toy(solved: bool) -> nbformat.NotebookNode:
    nb = student_notebook(toy_solution(), LESSON)
    return put_back(nb, toy_solution()) if solved else nb


CASES = {  # submission -> its files
    "solved": {f"{REAL}.ipynb": real(), "extra/90_toy.ipynb": toy(True)},
    "wrong": {f"{REAL}.ipynb": real({"cvae_forward"}, wrong=True), "copy.ipynb": b'{"cells": [',
              "notes.txt": b"not a notebook, not graded"},
    "undone": {"90_toy.ipynb": toy(False), "03.ipynb": nbformat.read(
        REPO / "notebooks" / "03_reparameterization.ipynb", as_version=4)},
}


def write(folder: Path, files: dict) -> None:
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            nbformat.write(content, folder / name)


def unpack(zip_path: Path, root: Path) -> None:
    """What Gradescope does: unzip into root/source (modes kept), run_autograder copied up."""
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(root / "source")
        for info in z.infolist():
            (root / "source" / info.filename).chmod(stat.S_IMODE(info.external_attr >> 16))
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The zip, built over a file that was there (refused, then --overwrite), and unpacked."""
    tmp = tmp_path_factory.mktemp("gradescope")
    (tmp / "points.toml").write_text(POINTS)
    # The instructor's cache holds what 07 needs (trained once here if missing): the zip
    # carries exactly these models.
    cache = tmp / "instructor-cache"
    cache.mkdir()
    for name in ("cvae", "classifier"):
        zoo.load(name, progress=False)
        entry = zoo.CATALOGUE[name]
        shutil.copy2(zoo.cache_path(entry.kind, entry.model, entry.training), cache)
    models = sorted(p.name for p in cache.glob("*.pt"))
    out = tmp / "autograder.zip"
    out.write_text("keep me")
    argv = ["gradescope", str(out), "--lesson", "07", LESSON, "--points", str(tmp / "points.toml"),
            "--extra-checks", str(CHECKS), "--timeout", TIMEOUT]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VAE_COURSE_CACHE", str(cache))
        with contextlib.redirect_stderr(err := io.StringIO()):
            refused = SimpleNamespace(code=cli.main(argv))
        refused.text, refused.kept = err.getvalue(), out.read_text()
        assert cli.main([*argv, "--overwrite"]) == 0
    unpack(out, tmp / "autograder")
    # what setup.sh does with them: into the container's model cache
    (tmp / "autograder" / "cache").mkdir()
    for model in (tmp / "autograder" / "source" / "models").glob("*.pt"):
        shutil.copy2(model, tmp / "autograder" / "cache")
    return SimpleNamespace(tmp=tmp, zip=out, root=tmp / "autograder", refused=refused,
                           models=models)


@pytest.fixture(scope="module")
def graded(built):
    """Each submission through run_autograder, then through `vae-course grade --json`."""
    root = built.root
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "OMP_NUM_THREADS": "1",
           "VAE_COURSE_DATA": str(data.data_root()), "VAE_COURSE_CACHE": str(root / "cache"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    out = {}
    for case, files in CASES.items():
        shutil.rmtree(root / "submission", ignore_errors=True)
        shutil.rmtree(root / "results", ignore_errors=True)
        write(root / "submission", files)
        done = subprocess.run([str(root / "run_autograder")], env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        assert sorted(p.name for p in (root / "cache").glob("*.pt")) == built.models, \
            "grading in the container trained a model the zip should have carried"
        results = json.loads((root / "results" / "results.json").read_text())
        # the same files, points and checks through the grader itself (the same relative
        # paths, so that it may reuse what it kept of the autograder's grading)
        folder = built.tmp / "cases" / case
        write(folder, files)
        notebooks = [str(p.relative_to(folder)) for p in sorted(folder.rglob("*.ipynb"))
                     if not p.name.startswith("03")]
        with contextlib.chdir(folder):
            assert cli.main(["grade", "--json", "grades.json", "--points",
                             str(built.root / "source" / "points.toml"), "--extra-checks",
                             str(built.root / "source" / "extra_checks.py"), "--timeout",
                             TIMEOUT, *notebooks]) == 0
        out[case] = SimpleNamespace(results=results, log=done.stdout + done.stderr,
                                    grades=json.loads((folder / "grades.json").read_text()))
    return out


def by_name(results: dict) -> dict[str, dict]:
    return {t["name"]: t for t in results["tests"]}


# ---- the zip -----------------------------------------------------------------------------

def test_the_zip_holds_the_contract_files_and_what_grading_needs(built):
    names = set(zipfile.ZipFile(built.zip).namelist())
    (wheel,) = [n for n in names if n.endswith(".whl")]
    assert names == {"setup.sh", "run_autograder", "config.json", "points.toml",
                     "extra_checks.py", wheel, *(f"models/{m}" for m in built.models)}
    assert len(built.models) == 2
    setup = (built.root / "source" / "setup.sh").read_text()
    assert re.search(r'WHEEL="\$ROOT/source/(.+)"', setup)[1] == wheel
    assert "download.pytorch.org/whl/cpu" in setup and "${AUTOGRADER_ROOT:-/autograder}" in setup
    inside = zipfile.ZipFile(built.root / "source" / wheel).namelist()
    assert {f"vae_course/weights/{p.name}" for p in (REPO / "vae_course" / "weights").glob("*.pt")
            } <= set(inside) and "vae_course/_notebooks/07_conditional_vae.ipynb" in inside
    for script in gradescope.SCRIPTS:
        path = built.root / "source" / script
        assert os.access(path, os.X_OK)
        assert subprocess.run(["bash", "-n", str(path)]).returncode == 0
    assert (built.root / "source" / "points.toml").read_text() == POINTS
    assert (built.root / "source" / "extra_checks.py").read_bytes() == CHECKS.read_bytes()
    assert json.loads((built.root / "source" / "config.json").read_text())["lessons"] == [
        REAL, LESSON]


def test_an_existing_zip_is_kept_without_overwrite(built):
    assert built.refused.code == 2 and built.refused.kept == "keep me"
    assert lines(built.refused.text) == [f"error: {built.zip} already exists; give a new name, "
                                         f"or add --overwrite."]


# ---- results.json ------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_results_json_follows_the_contract(graded, case):
    results = graded[case].results
    assert {"score", "execution_time", "output", "tests"} <= set(results)
    assert isinstance(results["execution_time"], int) and isinstance(results["output"], str)
    assert [t["name"] for t in results["tests"]] == [
        f"{REAL}: cvae_forward", f"{REAL}: redraw", f"{LESSON}: double", f"{LESSON}: countdown"]
    for test in results["tests"]:
        assert set(test) == {"name", "score", "max_score", "output", "visibility"}
        assert test["visibility"] in VISIBILITY and 0 <= test["score"] <= test["max_score"]
    assert results["score"] == sum(t["score"] for t in results["tests"])


@pytest.mark.parametrize("case", CASES)
def test_scores_are_the_graders(graded, case):
    """Each exercise the grader graded is a test with its points, its message and the
    visibility of its kind; the total is the grader's total."""
    tests, grades = by_name(graded[case].results), graded[case].grades
    rows = [r for r in grades["results"] if r["exercise"] != "-"]
    assert rows
    for row in rows:
        test = tests[f"{row['lesson']}: {row['exercise']}"]
        assert (test["score"], test["max_score"]) == (row["points"], row["max_points"])
        assert test["output"] == f"{row['status']}: {row['message']}"
        assert test["visibility"] == ("after_published" if row["hidden"] else "visible")
    assert graded[case].results["score"] == sum(s["total"] for s in grades["students"].values())


def test_the_solved_submission_earns_every_point(graded):
    results = graded["solved"].results
    assert results["score"] == 2 + 1 + 3 + 1
    assert {t["name"]: t["visibility"] for t in results["tests"]} == {
        f"{REAL}: cvae_forward": "visible", f"{REAL}: redraw": "visible",
        f"{LESSON}: double": "after_published", f"{LESSON}: countdown": "after_published"}
    assert "90_toy.ipynb: 2 of 2 exercises passed" in results["output"]


def test_a_wrong_answer_gets_its_hint_and_a_missing_lesson_scores_zero(graded):
    tests = by_name(graded["wrong"].results)
    assert tests[f"{REAL}: cvae_forward"]["output"].startswith("failed: ")
    assert tests[f"{REAL}: redraw"]["output"].startswith("not attempted: ")
    for name in ("double", "countdown"):
        assert tests[f"{LESSON}: {name}"]["output"] == (
            f"not attempted: no notebook of lesson {LESSON} in your submission: upload "
            f"{LESSON}.ipynb.")
    output = graded["wrong"].results["output"]
    assert graded["wrong"].results["score"] == 0 and "copy.ipynb: not a notebook" in output
    assert "notes.txt" not in output + graded["wrong"].log


def test_an_undone_notebook_scores_zero_and_another_lesson_is_not_graded(graded):
    results = graded["undone"].results
    assert results["score"] == 0
    assert all(t["output"].startswith("not attempted: ") for t in results["tests"])
    assert "03.ipynb: not graded: it is lesson 03_reparameterization" in results["output"]
    assert "grading 03.ipynb" not in graded["undone"].log


# ---- errors -----------------------------------------------------------------------------

@pytest.mark.parametrize("args, words", [
    (["{tmp}/a.zip", "--lesson", "99_nothing"],
     "unknown lesson '99_nothing'; the lessons are 01_autoencoder"),
    (["{tmp}/a.zip", "--points", "{tmp}/points.toml"], "unknown exercises ['dubble']"),
    (["{tmp}/a.zip", "--extra-checks", "{tmp}/missing.py"], "missing.py not found"),
    (["{tmp}/a.zip", "--timeout", "0"], "--timeout must be a number of seconds above 0"),
    (["{tmp}/no/a.zip"], "folder {tmp}/no does not exist; create it first."),
    (["{tmp}"], "is not a .zip file name"),
])
def test_bad_input_is_one_line_and_status_2(tmp_path, capsys, args, words):
    (tmp_path / "points.toml").write_text("dubble = 2\n")
    assert cli.main(["gradescope", *(a.format(tmp=tmp_path) for a in args)]) == 2
    err = capsys.readouterr().err
    assert len(lines(err)) == 1 and err.startswith("error: ") and words.format(tmp=tmp_path) in err
    assert not list(tmp_path.rglob("*.zip"))


def test_an_empty_submission_and_a_broken_autograder_still_write_results(tmp_path):
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "submission").mkdir()
    (root / "source" / "config.json").write_text(json.dumps(
        {"lessons": [REAL], "timeout": 60, "points": None, "extra_checks": None}))
    assert gradescope.main(root) == 0
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0 and "No notebook (.ipynb) found" in results["output"]
    assert [t["output"] for t in results["tests"]] == [
        f"not attempted: no notebook of lesson {REAL} in your submission: upload {REAL}.ipynb."] * 2
    (root / "source" / "config.json").unlink()
    assert gradescope.main(root) == 1
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0 and "The autograder failed" in results["output"]
