"""Drive JupyterLab in a headless Chromium: run a notebook, then inspect its widgets.

Used by tests/browser/test_lab.py. Every wait is bounded; each check returns a list of
problems (empty when all is well) rather than asserting, so one test can require
that they pass and another that they catch a JupyterLab without the widget extension.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from .server import jupyterlab

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"]
WIDGET_MANAGER = "@jupyter-widgets/jupyterlab-manager"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# How widgets look when JupyterLab cannot render them: their Python repr, or an error.
TEXT_FALLBACKS = (r"\b(IntSlider|FloatSlider|SelectionSlider|RadioButtons|Button|HBox|VBox"
                  r"|FloatProgress|IntProgress|Image|HTML|Label)\(")


def say(message: str) -> None:
    """A timestamped line on stdout: pytest shows them when a test fails."""
    print(f"[browser {time.strftime('%H:%M:%S')}] {message}", flush=True)


def chromium() -> str | None:
    """The system's Chromium, or None (the test never downloads a browser)."""
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


# ---- running a notebook ------------------------------------------------------------

_PANEL = "window.jupyterapp && window.jupyterapp.shell.currentWidget"
_KERNEL_READY = f"""() => {{
  const panel = {_PANEL};
  const kernel = panel && panel.sessionContext && panel.sessionContext.session
                 && panel.sessionContext.session.kernel;
  return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}}"""
_CELL_STATES = f"""() => {{
  const panel = {_PANEL};
  const kernel = panel.sessionContext.session.kernel;
  const cells = [];
  for (const cell of panel.content.widgets) {{
    if (cell.model.type !== 'code') continue;
    const outputs = cell.model.outputs.toJSON();
    cells.push({{count: cell.model.executionCount,
                 errors: outputs.filter(o => o.output_type === 'error')
                                .map(o => o.ename + ': ' + o.evalue)}});
  }}
  return {{kernel: kernel ? kernel.status : 'none', cells}};
}}"""


def open_notebook(page, url: str, token: str, name: str, timeout: float = 120) -> None:
    """Open notebook ``name`` and wait until its kernel is connected and idle."""
    page.goto(f"{url}/lab/tree/{name}?token={token}", timeout=timeout * 1000)
    page.wait_for_function(_KERNEL_READY, timeout=timeout * 1000, polling=500)


def _command(page, name: str) -> None:
    """Start a JupyterLab command without waiting for it: run-all's promise settles only
    when the last cell has run, which would make the wait below unbounded."""
    page.evaluate(f"() => {{ window.jupyterapp.commands.execute('{name}'); }}")


def run_all(page, timeout: float = 300) -> None:
    """Run all cells (the command of Run > Run All Cells); wait until every code cell has run.

    Raises AssertionError with the error's name and message when a cell fails.
    """
    # Clearing first resets the execution counts that a stored notebook comes with.
    _command(page, "notebook:clear-all-cell-outputs")
    page.wait_for_function(f"() => ({_CELL_STATES})().cells.every(c => !c.count)",
                           timeout=30_000, polling=250)
    _command(page, "notebook:run-all-cells")
    deadline = time.monotonic() + timeout
    reported = time.monotonic()
    done_since = None
    while True:
        state = page.evaluate(_CELL_STATES)
        errors = [e for c in state["cells"] for e in c["errors"]]
        if errors:
            raise AssertionError(f"a cell raised {errors[0]}")
        finished = state["kernel"] == "idle" and all(c["count"] for c in state["cells"])
        done_since = (done_since or time.monotonic()) if finished else None
        if done_since and time.monotonic() - done_since > 1.0:  # idle for a second: done
            return
        if time.monotonic() > reported + 15:
            reported = time.monotonic()
            ran = sum(bool(c["count"]) for c in state["cells"])
            say(f"{ran} of {len(state['cells'])} code cells have run; kernel {state['kernel']}")
        if time.monotonic() > deadline:
            left = sum(not c["count"] for c in state["cells"])
            raise TimeoutError(f"the notebook did not finish within {timeout} s "
                               f"({left} code cells had not run; kernel {state['kernel']})")
        time.sleep(0.5)


# ---- checks ------------------------------------------------------------------------

_RENDERING = """(fallbacks) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const problems = [];
  let widgetOutputs = 0;
  const pattern = new RegExp(fallbacks);
  panel.content.widgets.forEach((cell, i) => {
    if (cell.model.type !== 'code') return;
    const outputs = cell.model.outputs.toJSON();
    const nodes = cell.node.querySelectorAll('.jp-OutputArea-output');
    outputs.forEach((out, k) => {
      const node = nodes[k];
      const text = node ? node.innerText : '';
      if (text.includes('Error displaying widget')) problems.push(`cell ${i}: "${text.trim()}"`);
      if (pattern.test(text)) problems.push(`cell ${i} shows a widget as text: "${text.trim().slice(0, 80)}"`);
      if (!out.data || !out.data['""" + WIDGET_VIEW + """']) return;
      widgetOutputs += 1;
      // Other renderers mark their node with the MIME type they drew; a widget does not.
      const other = node ? node.getAttribute('data-mime-type') : 'nothing';
      if (other || !node.querySelector('.jupyter-widgets'))
        problems.push(`cell ${i}: a widget output was shown as ${other || 'nothing'}, not as a widget`);
    });
  });
  if (widgetOutputs === 0) problems.push('the notebook displayed no widget at all');
  return problems;
}"""


def rendering_problems(page, timeout: float = 30) -> list[str]:
    """Widgets that show as text (``IntSlider(...)``), as an error, or not as widgets."""
    try:  # widget views are drawn after their cell has run; give them a moment
        page.wait_for_function("() => !Array.from(document.querySelectorAll("
                               "'.jp-OutputArea-output')).some(n => n.innerText.includes("
                               "'Loading widget'))", timeout=timeout * 1000, polling=250)
    except PlaywrightTimeout:
        pass  # reported below as outputs that are not widgets
    return page.evaluate(_RENDERING, TEXT_FALLBACKS)


_IMAGE_HASHES = """(box) => Array.from(box.querySelectorAll('img.vae-output')).map(img => {
  if (!img.complete || !img.naturalWidth) return 'not loaded';
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let h = 0;
  for (let i = 0; i < px.length; i += 1) h = (h * 31 + px[i]) % 2147483647;
  return canvas.width + 'x' + canvas.height + ':' + h;
})"""


def _settle(element, timeout: float) -> bool:
    """Wait until an element stays put: cells above it may still be growing as they render."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        element.scroll_into_view_if_needed(timeout=timeout * 1000)
        now = element.bounding_box()
        if now is not None and now == last:
            return True
        last = now
        time.sleep(0.4)
    return False


def slider_problems(page, timeout: float = 20) -> list[str]:
    """In each explorer, drag the first slider's handle; one of its output images must change."""
    boxes = page.locator(".vae-explorer")
    if boxes.count() == 0:
        return ["no explorer widget (.vae-explorer) rendered"]
    problems = []
    for i in range(boxes.count()):
        box = boxes.nth(i)
        handle = box.locator(".widget-slider .noUi-handle").first
        if handle.count() == 0:
            problems.append(f"explorer {i}: no slider rendered")
            continue
        if not _settle(handle, timeout):
            problems.append(f"explorer {i}: its slider never came to rest on the page")
            continue
        readout = box.locator(".widget-slider .widget-readout").first.inner_text()
        try:
            box.locator("img.vae-output").first.wait_for(timeout=timeout * 1000)
            page.wait_for_function(f"box => ({_IMAGE_HASHES})(box).every(h => h !== 'not loaded')",
                                   arg=box.element_handle(), timeout=timeout * 1000, polling=250)
        except PlaywrightTimeout:
            pass  # reported just below
        before = box.evaluate(_IMAGE_HASHES)
        if not before or "not loaded" in before:
            problems.append(f"explorer {i}: its images did not load ({before})")
            continue
        knob = handle.bounding_box()
        track = box.locator(".widget-slider .noUi-base").first.bounding_box()
        x, y = knob["x"] + knob["width"] / 2, knob["y"] + knob["height"] / 2
        # Drag a good way towards the far end, so that even a slider of two steps moves.
        to_right = x < track["x"] + track["width"] / 2
        target = track["x"] + track["width"] * (0.85 if to_right else 0.15)
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(target, y, steps=8)
        page.mouse.up()
        try:
            page.wait_for_function(f"([box, before]) => {{ const now = ({_IMAGE_HASHES})(box);"
                                   f" return now.some((h, k) => h !== 'not loaded' && h !== before[k]); }}",
                                   arg=[box.element_handle(), before], timeout=timeout * 1000,
                                   polling=250)
        except PlaywrightTimeout:
            after = box.locator(".widget-slider .widget-readout").first.inner_text()
            problems.append(f"explorer {i}: moving the slider ({readout} -> {after}) "
                            f"did not change its image")
    return problems


_VERDICT = re.compile(r"^(Correct\.|Not yet\.|Not this one either\.)")
_ANSWER_IS = re.compile(r"The answer is option (\d+)")


def _check(q, option: int, before: str, timeout: float) -> str:
    """Choose radio ``option`` (0-based), press Check, return the new feedback text."""
    q.locator("input[type=radio]").nth(option).check(timeout=timeout * 1000)
    q.get_by_role("button", name="Check").click(timeout=timeout * 1000)
    feedback = q.locator(".vae-feedback")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = feedback.inner_text().strip()
        if text != before and _VERDICT.match(text):
            return text
        time.sleep(0.2)
    return feedback.inner_text().strip()


def concept_problems(page, timeout: float = 20) -> list[str]:
    """Answer each concept question option by option until it is right.

    A first wrong answer must show that option's own feedback and offer another try,
    without the explanation; the right answer (or a second wrong one) brings the
    explanation. At least one question must be answered wrongly once and then rightly.
    """
    questions = page.locator(".vae-concept-question")
    if questions.count() == 0:
        return ["no concept question widget (.vae-concept-question) rendered"]
    problems, wrong_then_right = [], 0
    for i in range(questions.count()):
        q = questions.nth(i)
        q.scroll_into_view_if_needed(timeout=timeout * 1000)
        explanation = q.locator(".vae-feedback .vae-explanation")
        n, text, wrong = q.locator("input[type=radio]").count(), "", 0
        for option in range(n):
            text = _check(q, option, text, timeout)
            if text.startswith("Correct."):
                if explanation.count() == 0 or len(text) < 30:
                    problems.append(f"question {i}: right answer without the explanation ({text!r})")
                wrong_then_right += wrong == 1
                break
            if text.startswith("Not yet."):
                wrong += 1
                own = text[len("Not yet."):].replace("Try another option.", "").strip()
                if len(own) < 10 or "Try another option" not in text:
                    problems.append(f"question {i}: a wrong answer did not show that option's "
                                    f"feedback and another try ({text!r})")
                if explanation.count() or _ANSWER_IS.search(text):
                    problems.append(f"question {i}: the first wrong answer revealed the answer")
                continue
            if text.startswith("Not this one either."):
                right = _ANSWER_IS.search(text)
                if explanation.count() == 0 or not right:
                    problems.append(f"question {i}: a second wrong answer did not reveal the "
                                    f"answer and the explanation ({text!r})")
                    break
                text = _check(q, int(right.group(1)) - 1, text, timeout)
                if not text.startswith("Correct."):
                    problems.append(f"question {i}: the revealed answer was not accepted ({text!r})")
                break
            problems.append(f"question {i}: no feedback after answering (feedback: {text!r})")
            break
    if not problems and wrong_then_right == 0:
        problems.append("no question was answered wrongly once and then rightly")
    return problems


def progress_problems(page) -> list[str]:
    """The training progress bar must be a finished widget bar (tqdm.auto), not text."""
    bars = page.locator(".jp-OutputArea-output .widget-hprogress")
    if bars.count() == 0:
        return ["no training progress bar rendered as a widget"]
    problems = []
    for i in range(bars.count()):
        row = bars.nth(i).locator("xpath=..")  # tqdm's HBox: text, bar, text
        if "100%" not in row.inner_text():
            problems.append(f"progress bar {i} did not reach 100%: {row.inner_text()!r}")
    return problems


# ---- all together ------------------------------------------------------------------

def drive(notebook: Path, workdir: Path, env: dict[str, str], *, disabled_extensions=(),
          progress: bool = True, run_timeout: float = 420) -> dict[str, list[str]]:
    """Serve a copy of ``notebook`` from ``workdir``, run it in Chromium and check its widgets.

    Leaves ``workdir/page.png`` (the page at the end, or when something failed) and
    ``workdir/jupyterlab.log``. Returns the problems found, by check.
    """
    root = workdir / "root"
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(notebook, root / notebook.name)
    log = workdir / "jupyterlab.log"
    with jupyterlab(root, workdir / "home", env, disabled_extensions, log) as (url, token), \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        try:
            say(f"JupyterLab is up at {url}; opening {notebook.name}")
            open_notebook(page, url, token, notebook.name)
            say("kernel idle; running all cells")
            run_all(page, run_timeout)
            say("all cells have run; checking the widgets")
            problems = {"rendering": rendering_problems(page),
                        "concept questions": concept_problems(page),
                        "sliders": slider_problems(page)}
            if progress:
                problems["progress bar"] = progress_problems(page)
            say(f"checked: {sum(map(len, problems.values()))} problems")
            return problems
        finally:
            page.screenshot(path=workdir / "page.png")
            browser.close()
