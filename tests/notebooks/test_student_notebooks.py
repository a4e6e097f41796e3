"""The student notebooks in notebooks/: in sync with solutions/, no leaks, and they run.

* in sync: ``vae-course build --check`` passes (CI also runs it);
* no leaks: no line of solution code, and no outputs, in any student notebook;
* they run: on a fresh kernel they stop only with NotImplementedError, in cells that
  use an exercise; every check cell says "not done yet"; cells that do not depend on an
  exercise run;
* with each solution region put back, every check passes.

The helpers are first tried on the toy lesson of tests/fixtures, then used on every
solution notebook. A course without solution notebooks fails, with that reason.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from fixtures.toy_lesson import LESSON, toy_solution

from vae_course.tools import cli
from vae_course.tools.notebook_exec import CellStatus, KernelSession
from vae_course.tools.student_notebook import (cells_with_outputs, find_leaks, put_back, stub_name,
                                         student_notebook)

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted((REPO / "solutions").glob("*.ipynb"))
CELL_TIMEOUT = 600  # seconds: a cell may train a model when the cache is cold
CHECK_CALL = re.compile(r"\bcheck_\w+\s*\(")

lessons = pytest.mark.parametrize(
    "solution_path",
    [pytest.param(p, id=p.stem) for p in SOLUTIONS])


def test_the_course_has_solution_notebooks():
    assert SOLUTIONS, "no solution notebooks in solutions/: the notebook tests would test nothing"


def student_path(solution_path: Path) -> Path:
    path = REPO / "notebooks" / solution_path.name
    assert path.exists(), f"{path} is missing: run `vae-course build`"
    return path


def exercise_names(nb) -> set[str]:
    return {stub_name(line) for c in nb.cells for line in c.source.split("\n")} - {None}


def execute(nb, folder: Path):
    """Run every cell on a fresh kernel; return the executed copy and each cell's run."""
    nb = nbformat.from_dict(nb)
    with KernelSession(nb, folder, CELL_TIMEOUT) as kernel:
        runs = kernel.run_all()
    return nb, runs


def output_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", "") or out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def assert_stops_only_at_exercises(nb, runs, names: set[str]) -> None:
    """Only NotImplementedError, only in cells that use an exercise; checks say not done."""
    uses = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b") if names else None
    for run in runs:
        cell = nb.cells[run.index]
        where = f"cell {run.index + 1}:\n{cell.source}"
        assert run.status in (CellStatus.OK, CellStatus.ERROR), f"{where}\n{run.status}: {run.evalue}"
        if run.status == CellStatus.ERROR:
            assert run.ename == "NotImplementedError", f"{where}\nraised {run.ename}: {run.evalue}"
            assert uses and uses.search(cell.source), f"{where}\nuses no exercise, yet stopped"
        if CHECK_CALL.search(cell.source):
            assert run.status == CellStatus.OK and "not done yet" in output_text(cell).lower(), where


def assert_everything_passes(nb, runs) -> None:
    for run in runs:
        cell = nb.cells[run.index]
        where = f"cell {run.index + 1}:\n{cell.source}"
        assert run.status == CellStatus.OK, f"{where}\n{run.ename}: {run.evalue}"
        if CHECK_CALL.search(cell.source):
            assert ": passed." in output_text(cell), f"{where}\n{output_text(cell)}"


# ---- the helpers, on the toy lesson ------------------------------------------------

def test_the_toy_student_notebook_stops_only_at_exercises(tmp_path):
    nb, runs = execute(student_notebook(toy_solution(), LESSON), tmp_path)
    assert [r.index for r in runs if r.status == CellStatus.ERROR] == [4, 8]
    assert output_text(nb.cells[5]) == "independent: 4.0\n"  # independent of the exercises
    assert_stops_only_at_exercises(nb, runs, exercise_names(nb))
    with pytest.raises(AssertionError, match="uses no exercise"):
        assert_stops_only_at_exercises(nb, runs, {"something_else"})


def test_the_toy_with_solutions_put_back_runs_clean(tmp_path):
    solution = toy_solution()
    nb, runs = execute(put_back(student_notebook(solution, LESSON), solution), tmp_path)
    assert_everything_passes(nb, runs)
    assert output_text(nb.cells[8]) == "[3, 2, 1]"


# ---- the course notebooks ----------------------------------------------------------

def test_student_notebooks_are_in_sync(capsys):
    code = cli.main(["build", "--check", "--solutions", str(REPO / "solutions"),
                     "--notebooks", str(REPO / "notebooks")])
    assert code == 0, capsys.readouterr().err


@lessons
def test_no_solution_line_and_no_output_in_student_notebook(solution_path):
    solution = nbformat.read(solution_path, as_version=4)
    student = nbformat.read(student_path(solution_path), as_version=4)
    assert find_leaks(solution, student) == []
    assert cells_with_outputs(student) == []
    assert exercise_names(student), "a lesson without exercises?"


@pytest.mark.slow
@lessons
def test_student_notebook_runs_until_the_exercises(solution_path):
    path = student_path(solution_path)
    nb, runs = execute(nbformat.read(path, as_version=4), path.parent)
    assert_stops_only_at_exercises(nb, runs, exercise_names(nb))


@pytest.mark.slow
@lessons
def test_with_the_solutions_put_back_every_check_passes(solution_path):
    path = student_path(solution_path)
    filled = put_back(nbformat.read(path, as_version=4),
                      nbformat.read(solution_path, as_version=4))
    assert exercise_names(filled) == set(), "a stub was not put back"
    nb, runs = execute(filled, path.parent)
    assert_everything_passes(nb, runs)
