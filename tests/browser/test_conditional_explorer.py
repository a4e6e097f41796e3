"""Notebook 07's widgets in a real browser: JupyterLab in the system's headless Chromium.

The same checks as tests/browser/test_lab.py (widgets drawn as widgets, dragging a slider
of the conditional explorer changes its images, the concept questions answer option
by option), on the student version with its exercise not done and on the instructor's,
with the shared model cache. Skipped like that test when Chromium or Playwright is
missing.
"""

from __future__ import annotations

import pytest
from browser.test_lab import Target, _drive, _keep_artifacts

TARGETS = [Target("notebooks/07_conditional_vae.ipynb", fresh_cache=False),
           Target("solutions/07_conditional_vae.ipynb", fresh_cache=False)]


@pytest.mark.browser
@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.notebook.split("/")[0])
def test_conditional_widgets_work_in_jupyterlab(request, tmp_path, target):
    problems = _drive(request, target, tmp_path)
    found = [f"{check}: {p}" for check, ps in problems.items() for p in ps]
    if found:
        _keep_artifacts(request.node.name, tmp_path)
    assert not found, "the widgets of notebook 07 did not work in JupyterLab:\n" + "\n".join(found)
