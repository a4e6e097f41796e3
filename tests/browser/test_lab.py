"""The widgets in a real browser: JupyterLab driven in the system's headless Chromium.

Each notebook in ``NOTEBOOKS`` is copied to a temporary folder, opened in JupyterLab
(127.0.0.1, random token), run with Run All Cells, and then checked: every widget
output is drawn as a widget (not as ``IntSlider(...)`` text or "Error displaying
widget"), dragging a slider in each explorer changes its image, each concept
question answered option by option gives a wrong choice its own feedback and another
try without revealing the answer, then the explanation with the right answer (at least
one question is answered wrongly once and then rightly), and the training progress bar
is a widget.
A second test switches the widget extension off and requires those checks to fail.

Skipped when Chromium or Playwright is missing, unless ``VAE_COURSE_REQUIRE_BROWSER=1``
(as in CI), when that is a failure. On failure the page's screenshot and the server
log are saved to ``test-artifacts/``.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser.needs import need_browser

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"


@dataclass(frozen=True)
class Target:
    notebook: str  # relative to the repository
    fresh_cache: bool = True  # an empty model cache: the notebook trains, so check its progress bar


# The notebooks to drive: a small fixture with one of each widget (it trains, so its
# progress bar shows), and notebook 05 with its latent and interpolation explorers and
# concept questions, on the shared model cache: the student version, as a student gets
# it with its exercises not done (every cell must still run), and the instructor's.
NOTEBOOKS = [
    Target("tests/browser/widgets_demo.ipynb"),
    Target("notebooks/05_sampling_and_interpolation.ipynb", fresh_cache=False),
    Target("solutions/05_sampling_and_interpolation.ipynb", fresh_cache=False),
]


def _kernel_env(cache: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("MPLBACKEND", "TQDM_DISABLE", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR")}
    if cache is not None:
        env["VAE_COURSE_CACHE"] = str(cache)
    return env


def _keep_artifacts(name: str, workdir: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for item in ("page.png", "jupyterlab.log"):
        if (workdir / item).exists():
            shutil.copy(workdir / item, ARTIFACTS / f"{name}-{item}")


def _drive(request, target: Target, workdir: Path, **options) -> dict[str, list[str]]:
    lab = need_browser()
    env = _kernel_env(workdir / "models" if target.fresh_cache else None)
    try:
        return lab.drive(REPO / target.notebook, workdir, env, progress=target.fresh_cache,
                         **options)
    except BaseException:
        _keep_artifacts(request.node.name, workdir)
        raise


@pytest.mark.browser
@pytest.mark.parametrize("target", NOTEBOOKS,
                         ids=lambda t: f"{Path(t.notebook).parent.name}-{Path(t.notebook).stem}")
def test_widgets_work_in_jupyterlab(request, tmp_path, target):
    problems = _drive(request, target, tmp_path)
    found = [f"{check}: {p}" for check, ps in problems.items() for p in ps]
    if found:
        _keep_artifacts(request.node.name, tmp_path)
    assert not found, "the widgets did not work in JupyterLab:\n" + "\n".join(found)


@pytest.mark.browser
def test_checks_catch_a_missing_widget_extension(request, tmp_path):
    """With the widget extension switched off, every check above must report a problem."""
    lab = need_browser()
    problems = _drive(request, NOTEBOOKS[0], tmp_path, disabled_extensions=[lab.WIDGET_MANAGER])
    caught = {check: bool(ps) for check, ps in problems.items()}
    if not all(caught.values()):
        _keep_artifacts(request.node.name, tmp_path)
    assert all(caught.values()), f"some checks passed without the widget extension: {caught}"
    assert any("not as a widget" in p for p in problems["rendering"]), problems["rendering"]


def test_a_missing_browser_skips_or_fails_when_required(monkeypatch):
    lab = pytest.importorskip("browser.lab")
    monkeypatch.setattr(lab, "chromium", lambda: None)
    monkeypatch.delenv("VAE_COURSE_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        need_browser()
    monkeypatch.setenv("VAE_COURSE_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="VAE_COURSE_REQUIRE_BROWSER=1"):
        need_browser()
