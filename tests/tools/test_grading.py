"""How one submission's exercises are resolved (vae_course/tools/grading.py).

The grader's runs are tested end to end in test_grade.py; here :func:`resolve` is fed
made-up cell runs, so that each rule of blame is seen on its own.
"""

from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from vae_course.checks.core import Exercise
from vae_course.tools.grading import exercise_cells, resolve
from vae_course.tools.notebook_exec import CellRun, CellStatus

DOUBLE = Exercise("double", "90_toy", ("double",), run=None)
NB = new_notebook(cells=[new_code_cell("import time"),
                         new_code_cell("def double(x):\n    return 2 * x"),
                         new_code_cell("time.sleep(99)\nprint(double(2))"),
                         new_code_cell("check_double(double)")])
PASSED = {"status": "passed", "message": "double works."}
MISSING = {"status": "not attempted", "message": "`double` is not defined: run the exercise cell."}


def runs(**status):
    """Every cell ok but those named (cell0=..., cell2=...)."""
    return [CellRun(i, status.get(f"cell{i}", CellStatus.OK), evalue=f"why {i}") for i in range(4)]


def test_the_cells_of_an_exercise_are_its_definition_and_its_uses():
    assert exercise_cells(NB, DOUBLE) == ([1], [1, 2, 3])


def test_a_slow_cell_that_only_uses_the_exercise_is_not_blamed_on_it():
    assert resolve(DOUBLE, NB, runs(cell2=CellStatus.TIMED_OUT), None, PASSED, 5) == \
        ("passed", "double works.")


def test_a_definition_that_did_not_finish_is_blamed():
    status, message = resolve(DOUBLE, NB, runs(cell1=CellStatus.TIMED_OUT), None, MISSING, 5)
    assert status == "timed out" and "before it was defined" in message


@pytest.mark.parametrize("cell, words", [(CellStatus.ERROR, "raised"),
                                         (CellStatus.SKIPPED, "why 1")])
def test_a_definition_that_failed_or_was_skipped_is_named(cell, words):
    status, message = resolve(DOUBLE, NB, runs(cell1=cell), None, MISSING, 5)
    assert status == "error" and "cell 2 (`def double(x):`)" in message and words in message


def test_a_check_that_ran_too_long_or_ended_the_kernel_says_so():
    check = CellRun(9, CellStatus.TIMED_OUT)
    assert resolve(DOUBLE, NB, runs(), check, None, 5)[0] == "timed out"
    status, message = resolve(DOUBLE, NB, runs(), CellRun(9, CellStatus.KERNEL_DIED), None, 5)
    assert status == "error" and "exit()" in message


def test_a_kernel_that_died_leaves_the_exercise_unchecked_with_the_cell_named():
    status, message = resolve(DOUBLE, NB, runs(cell2=CellStatus.KERNEL_DIED),
                              CellRun(9, CellStatus.NOT_RUN, evalue="the kernel died"), None, 5)
    assert status == "error" and "cell 3" in message

