"""The lesson pages of the course website: one solution notebook in, one page notebook out.

Each edition's page is a notebook that Sphinx (with myst-nb, execution off) renders as it
is, stored outputs included:

* the student's page has the cells of the student notebook (solution regions stubbed),
  with the solution's stored outputs except those that would give an answer away: the
  exercise cells', their check cells', and any output that holds a solution line (the
  leak check of :mod:`student_notebook`). Concept questions show their stem and options,
  read from the call's arguments, never the key or the feedback;
* the instructor's page has the solution cells with all their outputs, and each concept
  question with its key, the feedback of every option and the explanation.

On both, a widget's stored view is replaced by its static picture (an explorer stores a
PNG beside the view) with a note that the live version needs a kernel; a widget without a
picture (a progress bar) is dropped. Every function here is pure.
"""

from __future__ import annotations

import ast
import copy
import html
import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlencode, urlsplit

import nbformat
from nbformat import NotebookNode

from ..interactive.questions import WIDGET_VIEW, ConceptQuestion
from .student_notebook import BEGIN, clean_notebook_metadata, find_leaks, student_notebook


class Edition(StrEnum):
    STUDENT = "student"
    INSTRUCTOR = "instructor"


QUESTION_CALL = "concept_question"
QUESTION_FIELDS = ("question", "options", "correct", "explanation", "feedback")
CHECK_CALL = re.compile(r"^\s*check_\w+\(", re.MULTILINE)
TEXT_TYPES = ("text/plain", "text/html", "text/markdown", "text/latex")
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~$#])")
WIDGET_NOTE = ("A still picture of the interactive explorer, as the notebook stored it. The live "
               "version, with its sliders, needs a running kernel: open the notebook (links at "
               "the top of this page) and run its cells.")


# ---- launch links ---------------------------------------------------------------------

@dataclass(frozen=True)
class Launch:
    """Where the notebooks can be opened: a JupyterHub (nbgitpuller) and Colab (GitHub).

    The addresses are checked by the command (``vae-course site``) before they get here.
    """

    hub_url: str | None = None
    repo_url: str | None = None
    branch: str = "main"

    def repo_parts(self) -> tuple[str, str, str] | None:
        """(host, owner, repository) of ``repo_url``, or None without one."""
        if not self.repo_url:
            return None
        parts = urlsplit(self.repo_url)
        path = parts.path.strip("/").removesuffix(".git").split("/")
        return parts.netloc.lower(), "/".join(path[:-1]), path[-1]

    def hub_link(self, name: str) -> str | None:
        """An nbgitpuller link that clones (or updates) the repository and opens the lesson."""
        if not (self.hub_url and self.repo_url):
            return None
        folder = self.repo_parts()[2]  # nbgitpuller clones into a folder named after the repo
        query = urlencode({"repo": self.repo_url, "branch": self.branch,
                           "urlpath": f"lab/tree/{folder}/notebooks/{name}.ipynb"})
        return f"{self.hub_url}/hub/user-redirect/git-pull?{query}"

    def colab_link(self, name: str) -> str | None:
        parts = self.repo_parts()
        if parts is None or parts[0] not in ("github.com", "www.github.com"):
            return None
        _, owner, repo = parts
        return (f"https://colab.research.google.com/github/{owner}/{repo}/blob/{self.branch}"
                f"/notebooks/{name}.ipynb")


def _item(cls: str, body: str) -> str:
    return f'<li class="{cls}">{body}</li>'


def _link(cls: str, href: str, text: str, download: bool = False) -> str:
    extra = " download" if download else ""
    return f'<a class="{cls}" href="{html.escape(href)}"{extra}>{text}</a>'


def launch_html(name: str, launch: Launch, edition: Edition) -> str:
    """The "Run this lesson" box at the top of a lesson page (a raw HTML block)."""
    items = [_item("vae-launch-download", _link("vae-download", f"notebooks/{name}.ipynb",
                                                "Download the notebook", download=True)
                   + f" (<code>{name}.ipynb</code>) and open it in JupyterLab on your machine.")]
    if edition == Edition.INSTRUCTOR:
        items.append(_item("vae-launch-solution", _link(
            "vae-download-solution", f"solutions/{name}.ipynb", "Download the solution notebook",
            download=True) + " (with its outputs)."))
    hub = launch.hub_link(name)
    items.append(_item("vae-launch-hub", _link("vae-hub", hub, "Open on the JupyterHub") +
                       " (copies the course into your home folder once, then keeps it up to date "
                       "without touching your changes)." if hub else
                       "Open on a JupyterHub: no hub is set for this site. Whoever builds it adds "
                       "the link with <code>vae-course site OUT --hub-url https://HUB "
                       "--repo-url https://github.com/OWNER/REPO</code>."))
    colab = launch.colab_link(name)
    if colab:
        colab_text = _link("vae-colab", colab, "Open in Colab") + " (save a copy in your Google " \
            "Drive to keep your changes; the first cell says how to install the course there)."
    elif launch.repo_url:
        colab_text = (f"Open in Colab: Colab opens notebooks from GitHub only, and this course's "
                      f"repository (<code>{html.escape(launch.repo_url)}</code>) is not on GitHub.")
    else:
        colab_text = ("Open in Colab: no repository is set for this site. Whoever builds it adds "
                      "the link with <code>vae-course site OUT --repo-url "
                      "https://github.com/OWNER/REPO</code> (and <code>--branch</code>, default "
                      "<code>main</code>).")
    items.append(_item("vae-launch-colab", colab_text))
    return ('<div class="admonition vae-launch">\n<p class="admonition-title">Run this lesson</p>\n'
            "<ul>\n" + "\n".join(items) + "\n</ul>\n</div>")


# ---- concept questions ----------------------------------------------------------------

def read_question(source: str) -> ConceptQuestion | None:
    """The question of a cell that calls ``concept_question(...)`` with literal arguments.

    Returns None for any other cell. Nothing is executed: the arguments are read with
    :func:`ast.literal_eval`.
    """
    if QUESTION_CALL not in source:
        return None
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == QUESTION_CALL:
            args = dict(zip(QUESTION_FIELDS, (ast.literal_eval(a) for a in node.args)))
            args.update({k.arg: ast.literal_eval(k.value) for k in node.keywords})
            return ConceptQuestion(**args)
    return None


def escape_markdown(text: str) -> str:
    """``text`` as Markdown that shows exactly these characters."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def question_markdown(q: ConceptQuestion, with_key: bool) -> str:
    """A concept question as a MyST admonition: stem and options, plus the key if asked."""
    kind = "Predict, then run" if q.predict else "Concept question"
    lines = [f"````{{admonition}} {kind}", f":class: vae-question{' vae-key' if with_key else ''}",
             "", escape_markdown(q.question), ""]
    for number, option in enumerate(q.options, 1):
        text = escape_markdown(option)
        if with_key and number == q.correct:
            text = f"**{text}** (the right answer)"
        lines.append(f"{number}. {text}")
        if with_key:
            lines.append(f"   - *Feedback:* {escape_markdown(q.option_feedback(number))}")
    lines.append("")
    if with_key:
        lines.append(f"**Answer:** option {q.correct}. {escape_markdown(q.explanation)}")
    else:
        lines.append("*Answer it in the notebook: run the question's cell, choose an option and "
                     "press Check; it says whether you are right, and why.*")
    return "\n".join(lines + ["````"])


# ---- outputs --------------------------------------------------------------------------

def is_exercise(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and BEGIN in cell.source


def is_check(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and bool(CHECK_CALL.search(cell.source))


def static_outputs(outputs: list) -> tuple[list, bool]:
    """(outputs, pictured): widget views replaced by their static PNG, or dropped without one."""
    kept, pictured = [], False
    for out in outputs:
        data = out.get("data", {})
        if WIDGET_VIEW not in data:
            kept.append(copy.deepcopy(out))
        elif "image/png" in data:
            out = copy.deepcopy(out)
            out.data = {"image/png": data["image/png"]}
            kept.append(out)
            pictured = True
    return kept, pictured


def output_text(out: NotebookNode) -> str:
    """Everything an output shows as text (a stream's text, an error, the text MIME types)."""
    if out.output_type == "stream":
        return out.text
    if out.output_type == "error":
        return "\n".join([out.ename, out.evalue, *out.traceback])
    return "\n".join(str(out.data[t]) for t in TEXT_TYPES if t in out.get("data", {}))


def drop_leaking_outputs(solution: NotebookNode, cells: list[NotebookNode]) -> None:
    """Remove (in place) every output whose text holds a line of ``solution``'s solution code."""
    outputs = [(cell, out) for cell in cells if cell.cell_type == "code" for out in cell.outputs]
    texts = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(output_text(out))
                                            for _, out in outputs])
    leaking = {number - 1 for number, _ in find_leaks(solution, texts)}
    for index in sorted(leaking):
        cell, out = outputs[index]
        cell.outputs = [o for o in cell.outputs if o is not out]


def markdown_cell(source: str) -> NotebookNode:
    return nbformat.v4.new_markdown_cell(source)


def widget_note() -> NotebookNode:
    return markdown_cell(f"```{{admonition}} Interactive in the notebook\n:class: vae-static-widget"
                         f"\n\n{WIDGET_NOTE}\n```")


def page(cells: list[NotebookNode], solution: NotebookNode) -> NotebookNode:
    nb = nbformat.v4.new_notebook(cells=cells, metadata=clean_notebook_metadata(solution.metadata))
    nbformat.validate(nb)
    return nb


class LeakError(ValueError):
    """A student page would show solution code; the message names the lesson and the line."""


def student_page(solution: NotebookNode, lesson: str, launch: Launch) -> NotebookNode:
    """The student's page of a lesson (see the module's docstring for what it holds).

    Raises:
        LeakError: a line of solution code is still on the page (in the student notebook's
            own cells: ``vae-course build --check`` fails on it too).
    """
    student = student_notebook(solution, lesson)
    cells = []
    for source_cell, cell in zip(solution.cells, student.cells):
        question = read_question(source_cell.source) if cell.cell_type == "code" else None
        if question is not None:
            cells.append(markdown_cell(question_markdown(question, with_key=False)))
            continue
        pictured = False
        if cell.cell_type == "code" and not (is_exercise(source_cell) or is_check(source_cell)):
            cell.outputs, pictured = static_outputs(source_cell.outputs)
            cell.execution_count = source_cell.execution_count
        cells.append(cell)
        if pictured:
            cells.append(widget_note())
    drop_leaking_outputs(solution, cells)
    cells.insert(1, markdown_cell(launch_html(lesson, launch, Edition.STUDENT)))
    nb = page(cells, solution)
    leaks = find_leaks(solution, nb)
    if leaks:
        cell, line = leaks[0]
        raise LeakError(f"{lesson}: the student page would show the solution line `{line}` "
                        f"(page cell {cell}). Move it between the solution markers, or reword it; "
                        f"`vae-course build --check` names every such line.")
    return nb


def instructor_page(solution: NotebookNode, lesson: str, launch: Launch) -> NotebookNode:
    """The instructor's page: the solution with its outputs, and every question's key."""
    cells = []
    for cell in copy.deepcopy(solution.cells):
        question = read_question(cell.source) if cell.cell_type == "code" else None
        if question is not None:
            cells.append(markdown_cell(question_markdown(question, with_key=True)))
            continue
        pictured = False
        if cell.cell_type == "code":
            cell.outputs, pictured = static_outputs(cell.outputs)
        cell.metadata = {k: v for k, v in cell.metadata.items() if k == "tags"}
        cells.append(cell)
        if pictured:
            cells.append(widget_note())
    cells.insert(1, markdown_cell(launch_html(lesson, launch, Edition.INSTRUCTOR)))
    return page(cells, solution)
