"""Notebook 06's widgets in a real browser: the traversal explorer and the concept questions.

The same driver as ``test_lab.py`` (``tests/browser/lab.py``): the notebook is run in
JupyterLab in headless Chromium; every widget must render as a widget, dragging the
explorer's span slider must redraw its traversals, and each concept question must answer.
Both the student version (exercises not done: every later cell still runs) and the
instructor's. Skipped without Chromium or Playwright unless ``VAE_COURSE_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from browser.needs import need_browser
from browser.test_lab import ARTIFACTS, _kernel_env

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = ["notebooks/06_convolutional_vae.ipynb", "solutions/06_convolutional_vae.ipynb"]


@pytest.mark.browser
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda n: Path(n).parent.name)
def test_traversal_explorer_and_questions_work_in_jupyterlab(notebook, tmp_path):
    lab = need_browser()
    try:
        problems = lab.drive(REPO / notebook, tmp_path, _kernel_env(None), progress=False)
    except BaseException:
        problems = None
        raise
    finally:
        if problems is None or any(problems.values()):
            ARTIFACTS.mkdir(exist_ok=True)
            for item in ("page.png", "jupyterlab.log"):
                if (tmp_path / item).exists():
                    shutil.copy(tmp_path / item, ARTIFACTS / f"06-{Path(notebook).parent.name}-{item}")
    found = [f"{check}: {p}" for check, ps in problems.items() for p in ps]
    assert not found, "the widgets of notebook 06 did not work in JupyterLab:\n" + "\n".join(found)
