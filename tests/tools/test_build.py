"""`vae-course build` (vae_course.tools.build) on a toy lesson."""

from __future__ import annotations

import nbformat
import pytest
from fixtures.toy_lesson import LESSON, toy_solution, write_toy

from vae_course.tools import cli
from vae_course.tools.student_notebook import END, student_notebook


@pytest.fixture
def course(tmp_path):
    """A course folder holding the toy solution and no student notebooks yet."""
    write_toy(tmp_path / "solutions")
    (tmp_path / "notebooks").mkdir()
    return tmp_path


def build(course, *flags) -> int:
    return cli.main(["build", "--solutions", str(course / "solutions"),
                     "--notebooks", str(course / "notebooks"), *flags])


def change_solution(course):
    solution = toy_solution()
    solution.cells[0].source += "\n\nA new sentence."
    write_toy(course / "solutions", solution)


def test_build_writes_the_student_notebook_and_is_deterministic(course, capsys):
    assert build(course, "--check") == 1
    assert build(course) == 0
    target = course / "notebooks" / f"{LESSON}.ipynb"
    first = target.read_bytes()
    assert nbformat.read(target, as_version=4) == student_notebook(toy_solution(), LESSON)
    assert build(course) == 0
    assert target.read_bytes() == first
    assert "up to date" in capsys.readouterr().out
    assert build(course, "--check") == 0


def test_check_fails_when_a_solution_changed(course, capsys):
    build(course)
    change_solution(course)
    capsys.readouterr()
    assert build(course, "--check") == 1
    err = capsys.readouterr().err
    assert f"{LESSON}.ipynb is out of date" in err and "vae-course build" in err
    assert build(course) == 0
    assert build(course, "--check") == 0


def test_check_fails_on_a_hand_edited_student_notebook(course):
    build(course)
    target = course / "notebooks" / f"{LESSON}.ipynb"
    nb = nbformat.read(target, as_version=4)
    nb.cells[3].source = nb.cells[3].source.replace("# YOUR CODE HERE", "twice = SCALE * x")
    nbformat.write(nb, target)
    assert build(course, "--check") == 1


def test_an_edited_notebook_is_kept_and_force_backs_it_up(course, capsys):
    build(course)
    target = course / "notebooks" / f"{LESSON}.ipynb"
    nb = nbformat.read(target, as_version=4)
    nb.cells[3].source += "\n# a student's answer"
    nbformat.write(nb, target)
    work = target.read_bytes()
    change_solution(course)
    capsys.readouterr()
    assert build(course) == 0
    assert target.read_bytes() == work
    assert "left alone" in capsys.readouterr().out
    assert build(course, "--force") == 0
    backups = list(target.parent.glob(f"{LESSON}.backup-*.ipynb"))
    assert len(backups) == 1 and backups[0].read_bytes() == work
    assert "A new sentence." in target.read_text()
    assert build(course, "--check") == 0  # the backup does not count as stale


def test_an_unchanged_notebook_that_was_run_is_rewritten(course):
    build(course)
    target = course / "notebooks" / f"{LESSON}.ipynb"
    nb = nbformat.read(target, as_version=4)
    nb.cells[5].outputs = [nbformat.v4.new_output("stream", text="independent: 4.0\n")]
    nbformat.write(nb, target)
    change_solution(course)
    assert build(course) == 0
    assert "A new sentence." in target.read_text()
    assert not list(target.parent.glob("*.backup-*"))


def test_bad_markers_stop_the_build_and_name_notebook_and_cell(course, capsys):
    solution = toy_solution()
    solution.cells[7].source = solution.cells[7].source.replace(END, "")
    write_toy(course / "solutions", solution)
    assert build(course) == 1
    err = capsys.readouterr().err
    assert f"{LESSON}.ipynb, cell 8" in err and "never closed" in err
    assert not list((course / "notebooks").iterdir())  # nothing written


def test_a_solution_line_outside_the_markers_is_a_leak(course, capsys):
    solution = toy_solution()
    solution.cells[5].source += "\ntwice = SCALE * x"
    write_toy(course / "solutions", solution)
    assert build(course) == 1
    assert "leaked: `twice = SCALE * x`" in capsys.readouterr().err
    assert build(course, "--check") == 1
