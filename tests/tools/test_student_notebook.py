"""From a solution notebook to the student's (vae_course.tools.student_notebook): one test
per transformation, then the whole notebook of the toy lesson."""

from __future__ import annotations

import copy

import nbformat
import pytest
from fixtures.toy_lesson import LESSON, toy_solution
from nbformat.v4 import new_code_cell, new_markdown_cell

from vae_course.tools.student_notebook import (
    BEGIN, END, STAMP, MarkerError, Region, clean_cell_metadata, clean_notebook_metadata,
    clear_outputs, enclosing_function, find_leaks, find_regions, is_edited, put_back,
    reject_markers_outside_code, replace_regions, solution_lines, student_notebook, stub_lines)

FUNCTION = f"""\
def f(x):
    y = x
    {BEGIN}
    y = y * 2
    {END}
    return y"""


def test_find_regions_gives_marker_lines_and_indent():
    assert find_regions(FUNCTION) == [Region(begin=2, end=4, indent="    ")]
    assert find_regions("x = 1") == []


@pytest.mark.parametrize("source, words", [
    (f"{BEGIN}\n{BEGIN}\n{END}\n{END}", ["line 2", "nested"]),
    (f"x = 1\n{END}", ["line 2", "without"]),
    (f"x = 1\n{BEGIN}\nx = 2", ["line 2", "never closed"]),
])
def test_find_regions_rejects_unbalanced_markers(source, words):
    with pytest.raises(MarkerError) as err:
        find_regions(source)
    assert all(w in str(err.value) for w in words)


def test_enclosing_function_is_the_nearest_less_indented_def():
    lines = ["def outer(a):", "    def inner(b):", "        pass", "    x = 1", "    ### here"]
    assert enclosing_function(lines, 4, "    ") == "outer"
    assert enclosing_function(lines, 2, "        ") == "inner"
    assert enclosing_function(["x = 1", "### here"], 1, "") is None


def test_stub_lines_keep_the_indent_and_name_the_exercise():
    comment, raise_line = stub_lines("        ", "reparameterize")
    assert comment == "        # YOUR CODE HERE"
    assert raise_line.startswith("        raise NotImplementedError(")
    assert "`reparameterize`" in raise_line


def test_replace_regions_stubs_each_region_and_keeps_the_rest():
    out = replace_regions(FUNCTION + "\n\n" + f"{BEGIN}\nz = 3\n{END}", fallback_name="cell 4")
    assert "y = y * 2" not in out and "z = 3" not in out
    assert BEGIN not in out and END not in out
    assert out.startswith("def f(x):\n    y = x\n    # YOUR CODE HERE\n")
    assert "    return y" in out  # code after the region stays
    assert "`f`" in out and "`cell 4`" in out  # inside the def / at top level
    compile(out, "<cell>", "exec")


def test_markers_in_markdown_are_rejected():
    with pytest.raises(MarkerError, match="markdown"):
        reject_markers_outside_code(new_markdown_cell(f"Look:\n{BEGIN}"))
    reject_markers_outside_code(new_code_cell(FUNCTION))  # code cells are fine


def test_clean_cell_metadata_keeps_tags_and_hidden_source_only():
    noisy = {"tags": ["nbval-ignore-output"], "ExecuteTime": {"a": 1}, "collapsed": True,
             "scrolled": True, "trusted": True, "execution": {"iopub.status.busy": "t"},
             "jupyter": {"source_hidden": True, "outputs_hidden": True}}
    assert clean_cell_metadata(noisy) == {"tags": ["nbval-ignore-output"],
                                          "jupyter": {"source_hidden": True}}


def test_clean_notebook_metadata_keeps_the_kernelspec():
    meta = toy_solution().metadata
    clean = clean_notebook_metadata(meta)
    assert clean == {"kernelspec": meta["kernelspec"], "language_info": {"name": "python"}}


def test_clear_outputs_returns_a_cleared_copy():
    cell = toy_solution().cells[4]
    cleared = clear_outputs(cell)
    assert cleared.outputs == [] and cleared.execution_count is None
    assert cell.outputs and cell.execution_count == 3  # the input is left alone


def test_student_notebook_of_the_toy_lesson():
    solution = toy_solution()
    before = copy.deepcopy(solution)
    nb = student_notebook(solution, LESSON)
    assert solution == before
    assert [c.cell_type for c in nb.cells] == [c.cell_type for c in solution.cells]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells)
    assert nb.cells[1].metadata == {"tags": ["nbval-ignore-output"]}
    assert set(nb.metadata) == {"kernelspec", "language_info", STAMP}
    assert nb.metadata[STAMP]["lesson"] == LESSON
    assert "Exercise `double`" in nb.cells[3].source
    assert "Exercise `countdown`" in nb.cells[7].source
    for cell in nb.cells:
        if cell.cell_type == "code":
            compile(cell.source, "<cell>", "exec")
    nbformat.validate(nb)


@pytest.mark.parametrize("bad_cell, words", [
    (new_code_cell(f"def g():\n    {BEGIN}\n    pass"), ["cell 11", "never closed"]),
    (new_code_cell(f"{BEGIN}\n{BEGIN}\n{END}\n{END}"), ["cell 11", "nested"]),
    (new_markdown_cell(f"{END}"), ["cell 11", "markdown"]),
])
def test_student_notebook_errors_name_notebook_and_cell(bad_cell, words):
    solution = toy_solution()
    solution.cells.append(bad_cell)
    with pytest.raises(MarkerError) as err:
        student_notebook(solution, LESSON, where="solutions/90_toy.ipynb")
    assert all(w in str(err.value) for w in ["solutions/90_toy.ipynb", *words])


def test_is_edited_sees_changed_sources_not_outputs():
    nb = student_notebook(toy_solution(), LESSON)
    assert not is_edited(nb)
    ran = copy.deepcopy(nb)
    ran.cells[5].outputs = [nbformat.v4.new_output("stream", text="independent: 4.0\n")]
    assert not is_edited(ran)
    filled = copy.deepcopy(nb)
    filled.cells[3].source += "\n# my answer"
    assert is_edited(filled)
    del filled.metadata[STAMP]
    assert is_edited(filled)


def test_find_leaks_finds_solution_lines_anywhere_in_the_student_notebook():
    solution = toy_solution()
    nb = student_notebook(solution, LESSON)
    assert solution_lines(solution) == ["twice = SCALE * x", "return twice",
                                        "return list(range(n, 0, -1))"]
    assert find_leaks(solution, nb) == []
    nb.cells[9].source += "\n    twice = SCALE * x"
    assert find_leaks(solution, nb) == [(10, "twice = SCALE * x")]
    nb.cells[0].source += "\nHint: `return list(range(n, 0, -1))` does it."  # inside a line
    assert find_leaks(solution, nb)[0] == (1, "return list(range(n, 0, -1))")
    nb.cells[5].source += "\nprint('return twice')"  # a short line counts only as a whole line
    assert [cell for cell, _ in find_leaks(solution, nb)] == [1, 10]


def test_put_back_restores_the_solution_code():
    solution = toy_solution()
    nb = student_notebook(solution, LESSON)
    full = put_back(nb, solution)
    for got, want in zip(full.cells, solution.cells):
        want_lines = [ln for ln in want.source.split("\n") if ln.strip() not in (BEGIN, END)]
        assert got.source.split("\n") == want_lines
    half = put_back(nb, solution, exercises={"countdown"})
    assert "NotImplementedError" in half.cells[3].source
    assert "NotImplementedError" not in half.cells[7].source
