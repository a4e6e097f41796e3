"""Which cells a graded run executes (vae_course/tools/graded_cells.py)."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from vae_course.tools.graded_cells import cells_needed


def notebook(*sources):
    return new_notebook(cells=[new_markdown_cell("# a lesson"),
                               *(new_code_cell(s) for s in sources)])


def kept(*sources, names=("double",)):
    return sorted(cells_needed(notebook(*sources), set(names)))


def test_the_exercise_its_helpers_and_their_imports_are_kept_the_rest_is_not():
    assert kept("import math\nimport torch",                     # 1: binds math, used below
                "x = torch.randn(1000)\nfig = plot(x)",            # 2: a figure
                "def double(x):\n    return helper(x) * SCALE",    # 3: the exercise
                "check_double(double)",                            # 4: its check cell
                "SCALE = math.floor(2.5)",                         # 5: a constant it reads
                "def helper(y):\n    return y",                    # 6: defined later, still read
                "model = train_for_an_hour()") == [1, 3, 5, 6]


def test_locals_of_a_function_do_not_pull_in_cells_that_bind_the_same_name():
    assert kept("x = load_everything()", "def double(x):\n    z = 2 * x\n    return z",
                "z = other()") == [2]


def test_a_cell_that_changes_a_needed_name_or_global_state_is_kept():
    assert kept("def double(x):\n    return 2 * x", "double.__defaults__ = (3,)") == [1, 2]
    assert kept("def double(x):\n    return 2 * x", "import torch\ntorch.set_default_dtype(torch.float64)",
                "plot()") == [1, 2]
    assert kept("def double(x):\n    return 2 * x", "exec(open('a.py').read())") == [1, 2]
    assert kept("def double(x):\n    return 2 * x", "%run answers.py") == [1, 2]
    assert kept("def double(x):\n    return 2 * x", "import os\nos.chdir('/tmp')") == [1, 2]
    assert kept("def double(x):\n    return 2 * x", "exit()") == [1, 2]
    assert kept("def double(x):\n    return 2 * x", "from helpers import *") == [1, 2]


def test_seeds_are_not_global_state_that_matters():  # every checker fixes its own
    assert kept("def double(x):\n    return 2 * x", "import torch\ntorch.manual_seed(0)\nplot()",
                "train.set_seed(1)") == [1]


@pytest.mark.parametrize("source", ["def double(x)\n    return 2 * x", "double = 1 +"])
def test_a_cell_that_cannot_be_read_is_kept(source):
    assert kept(source, "y = 2") == [1]


def test_a_name_bound_in_several_ways_keeps_every_cell_that_binds_it():
    assert kept("from math import floor as double", "for double in range(3):\n    pass",
                "with open_it() as double:\n    pass", "double += 1", "y = 1") == [1, 2, 3, 4]


def test_the_course_notebooks_keep_their_exercise_cells(tmp_path):
    from pathlib import Path

    from vae_course.checks import exercises_for

    solutions = sorted((Path(__file__).parents[2] / "solutions").glob("*.ipynb"))
    assert solutions
    for path in solutions:
        nb = nbformat.read(path, as_version=4)
        exercises = exercises_for(path.stem)
        keep = cells_needed(nb, {n for e in exercises for n in e.needs})
        code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        for e in exercises:
            assert any(f"def {e.needs[0]}(" in nb.cells[i].source for i in keep), (path, e)
        assert len(keep) < len(code) / 2, (path.name, sorted(keep))
