"""No number in a notebook's prose that a re-run of the notebook could contradict.

A figure that comes from a run belongs in a cell's output (printed, or shown with
``display(Markdown(...))`` from the variables), or the prose states a claim that a cell
asserts (the notebooks' ``True`` lines). This test reads every markdown cell of every
notebook in solutions/ and fails on

* a number that is neither a stable fact (``STABLE``: 784 pixels, 28 x 28, 0.5, log 2,
  60,000 training images...) nor a literal in one of the notebook's code cells (a
  setting such as ``epochs=3`` or a threshold such as ``< 0.02``, which the prose may
  repeat because the code fixes it);
* an approximate quantity ("about a third", "roughly 20 seconds", "nearly half") or a
  fraction in words ("a third", "two quarters"), which is how a measured figure
  usually sneaks into prose.

Ignored: inline code (shapes such as ``(B, 16, 14, 14)``), notebook numbers
("notebook 02", "notebooks 01-05", links to ``NN_name.ipynb``), years of citations,
section numbers in headings, and the opening's ``**Time:**`` line (a reading-time
estimate, checked by tests/notebooks/test_notebook_form.py).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted((REPO / "solutions").glob("*.ipynb"))

# Exact facts that do not depend on a run: the data, the maths, the course's fixed sizes.
STABLE = {
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10",  # small counts, digits 0-9
    "28", "784", "0.5", "255",  # MNIST's image size and pixels; sigmoid(0)
    "60,000", "10,000", "70,000",  # MNIST's splits
    "256", "128",  # the course models' hidden widths, 784-256-128-2
    "543",  # 784 log 2, the know-nothing loss
    "39.3%", "86.5%", "68%", "95%", "86%",  # Gaussian mass inside 1 and 2 sigma (2-D, 1-D)
    "0.135", "0.018", "-4", "-2", "1e-3", "1e-4", "10^{-3}",  # exact values of exp and logs
    "40", "1.0", "-1", "100", "20",
    "0.9",  # the confidence threshold of measures.confident_share
    "20,000",  # the rows of the reparameterize check
    "9999",  # the last test index
    "14",  # 28 / 2: the side after one stride-2 layer (28 -> 14 -> 7)
}
APPROXIMATE = re.compile(
    r"\b(about|around|roughly|nearly|almost|approximately|some)\s+"
    r"(a |an |one )?(\d[\d.,]*|half|third|thirds|quarter|twice|two|three|four|five|ten|"
    r"a few percent|(\w+ )?percent)\b", re.IGNORECASE)
FRACTION = re.compile(r"\b(a|one|two) (third|thirds|quarter|quarters|fifth)\b", re.IGNORECASE)
NUMBER = re.compile(r"(?<![\w.$\\^{])-?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?%?(?![\w])")
IGNORED = [
    re.compile(r"\bnotebooks? \d\d(\s*(-|and|to|,)\s*\d\d)*"),  # notebook references
    re.compile(r"\b\d\d_\w+(\.ipynb)?"),  # notebook names and links
    re.compile(r"^#+\s*\d+\.", re.MULTILINE),  # numbered section headings
    re.compile(r"^\*\*Time:\*\*.*$", re.MULTILINE),  # the opening's form line
    re.compile(r"#\d+"),  # "#1" labels in a plot legend
    re.compile(r"et al\.,? \d{4}"),  # citations
    re.compile(r"\b(19|20)\d\d(?=[);])"),  # "(Author, 2019)"
    re.compile(r"`[^`\n]+`"),  # inline code: shapes and calls, fixed by the code itself
]


def _value(token: str) -> float | None:
    text = token.replace(",", "").replace("_", "")
    percent = text.endswith("%")
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        return None
    return value / 100 if percent else value


def code_literals(nb) -> set[float]:
    """Every numeric literal in the notebook's code cells (settings and thresholds)."""
    values = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                    and not isinstance(node.value, bool):
                values.add(float(node.value))
    return values


def prose_problems(nb) -> list[str]:
    """'cell N: "number" in "...context..."' for every suspicious number in markdown."""
    literals = code_literals(nb)
    stable = {_value(s) for s in STABLE if _value(s) is not None}
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        text = cell.source
        for pattern in IGNORED:
            text = pattern.sub(" ", text)
        for m in [*APPROXIMATE.finditer(text), *FRACTION.finditer(text)]:
            problems.append(f'cell {i}: approximate figure "{m.group(0)}" in '
                            f'"...{_context(text, m)}..."')
        for m in NUMBER.finditer(text):
            token, value = m.group(0), _value(m.group(0))
            if token in STABLE or value is None or value in stable or value in literals \
                    or (token.endswith("%") and value * 100 in literals):
                continue
            problems.append(f'cell {i}: number "{token}" in "...{_context(text, m)}..."')
    return problems


def _context(text: str, m: re.Match) -> str:
    return " ".join(text[max(0, m.start() - 50): m.end() + 30].split())


def test_the_scanner_catches_measured_figures_and_spares_facts():
    cell = nbformat.v4.new_markdown_cell
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("quick = TrainConfig(epochs=3, lr=2e-3)\nprint(x < 0.02)"),
        cell("About a third of the samples are not recognised; 43% are."),
        cell("Each image has 784 pixels, $28 \\times 28$; notebook 02 and notebooks 03-05."),
        cell("We train for 3 epochs at learning rate 0.002; fewer than 2% of the samples."),
        cell("## 4. Training\n\nIt takes roughly 20 seconds."),
    ])
    problems = prose_problems(nb)
    assert any("cell 1" in p and "About a third" in p for p in problems), problems
    assert any('cell 1: number "43%"' in p for p in problems), problems
    assert any("cell 4" in p and "roughly 20" in p for p in problems), problems
    assert not any("cell 2" in p or "cell 3" in p for p in problems), problems


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_prose_states_no_measured_number(path):
    problems = prose_problems(nbformat.read(path, as_version=4))
    assert not problems, (
        f"{path.name}: numbers in markdown that a re-run could contradict. Print them from "
        f"a cell (or display(Markdown(...)) from the variables), or state a claim that a "
        f"cell asserts; add a true constant to STABLE in tests/notebooks/test_prose_numbers.py:\n  "
        + "\n  ".join(problems))
