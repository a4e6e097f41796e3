"""Every notebook in solutions/ opens and closes in the same form.

The opening is the first cell, a markdown cell::

    # NN · Title                         (NN: the two digits the file name starts with)

    One or more paragraphs: what this notebook is about and how it follows on.

    **You will learn to**

    - first goal;                        (at least two bullets, each starting "- ")
    - second goal.

    **Time:** about N minutes. **Exercises:** E, each followed by a check cell.
    **Concept questions:** Q, P of them asked before the cells that answer them.
    **Before this:** what to know or have done first (e.g. "notebooks 01-03").

where E is the number of exercises (code cells with ``### BEGIN SOLUTION``), Q the
number of ``concept_question(...)`` calls and P the number of those with
``predict=True``.

The closing is the last cell, a markdown cell::

    ## Summary

    - what was learnt, one bullet per idea, each starting "- ";
    - ...

    **Next:** [NN_name](NN_name.ipynb) what it does next ...

Every notebook named in the Next paragraph (a link ``NN_name.ipynb`` or the words
"notebook NN") must exist in solutions/, and unless this is the last notebook in
solutions/ the Next paragraph links the following one.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = REPO / "solutions"
PATHS = sorted(SOLUTIONS.glob("*.ipynb"))

TITLE = re.compile(r"\A# (\d\d) · \S.*$", re.MULTILINE)
GOALS = re.compile(r"^\*\*You will learn to\*\*\n\n((?:- .+\n(?:  .+\n)*){2,})", re.MULTILINE)
TIME = re.compile(r"^\*\*Time:\*\* about \d+ minutes\. \*\*Exercises:\*\* (\d+), each followed "
                  r"by a check cell\.\n\*\*Concept questions:\*\* (\d+), (\d+) of them asked before "
                  r"the cells? that answers? (?:it|them)\.\n\*\*Before this:\*\* \S.*$", re.MULTILINE)
SUMMARY = re.compile(r"\A## Summary\n\n((?:- .+\n(?:  .+\n)*)+)\n\*\*Next:\*\* \S", re.MULTILINE)
NAMED = re.compile(r"\b(\d\d)_\w+\.ipynb|\bnotebooks? (\d\d)\b")
QUESTION = re.compile(r"\bconcept_question\(")
PREDICT = re.compile(r"\bpredict\s*=\s*True\b")


def opening_problems(nb, number: str) -> list[str]:
    cells = nb.cells
    if not cells or cells[0].cell_type != "markdown":
        return ["the first cell must be a markdown cell with the opening"]
    text = cells[0].source + "\n"
    problems = []
    title = TITLE.search(text)
    if not title:
        problems.append(f'the opening must start with the title line "# {number} · Title"')
    elif title.group(1) != number:
        problems.append(f"the title says {title.group(1)} but the file name says {number}")
    if not GOALS.search(text):
        problems.append('no "**You will learn to**" line followed by a blank line and at '
                        'least two goals, each a line starting with "- "')
    form = TIME.search(text)
    if not form:
        problems.append('no form lines "**Time:** about N minutes. **Exercises:** E, each '
                        'followed by a check cell." / "**Concept questions:** Q, P of them '
                        'asked before the cells that answer them." / "**Before this:** ..."')
        return problems
    code = [c.source for c in cells if c.cell_type == "code"]
    exercises = sum("### BEGIN SOLUTION" in s for s in code)
    questions = sum(len(QUESTION.findall(s)) for s in code)
    predicted = sum(len(PREDICT.findall(s)) for s in code if QUESTION.search(s))
    for what, said, counted in (("exercises", form.group(1), exercises),
                                ("concept questions", form.group(2), questions),
                                ("predict-then-run questions", form.group(3), predicted)):
        if int(said) != counted:
            problems.append(f"the opening counts {said} {what} but the notebook has {counted}")
    return problems


def closing_problems(nb, number: str, existing: list[str]) -> list[str]:
    last = nb.cells[-1] if nb.cells else None
    if last is None or last.cell_type != "markdown":
        return ["the last cell must be a markdown cell with the summary"]
    text = last.source + "\n"
    if not SUMMARY.search(text):
        return ['the last cell must start with "## Summary", a blank line, bullets starting '
                'with "- ", a blank line, then a paragraph starting with "**Next:**"']
    nxt = text[text.index("**Next:**"):]
    problems = []
    named = sorted({a or b for a, b in NAMED.findall(nxt)})
    missing = [n for n in named if n not in existing]
    if missing:
        problems.append(f"the Next paragraph names notebook(s) {', '.join(missing)}, which "
                        f"are not in solutions/ (there are {', '.join(existing)}): promise only "
                        f"notebooks that exist")
    later = [n for n in existing if n > number]
    if later and not re.search(rf"\({later[0]}_\w+\.ipynb\)", nxt):
        problems.append(f"the Next paragraph must link the following notebook, "
                        f"[{later[0]}_...]({later[0]}_....ipynb)")
    return problems


def _numbers() -> list[str]:
    return [p.name[:2] for p in PATHS]


def test_the_form_checks_can_fail():
    md = nbformat.v4.new_markdown_cell
    bad = nbformat.v4.new_notebook(cells=[md("# 03 · Title\n\n**Learning goals.**\n"),
                                          md("## Summary\n\n* one\n\n**Next:** notebook 09")])
    assert any("title says 03" in p for p in opening_problems(bad, "01"))
    assert any("You will learn to" in p for p in opening_problems(bad, "03"))
    assert any("bullets" in p for p in closing_problems(bad, "03", ["03"]))
    good_end = md("## Summary\n\n- one\n\n**Next:** [09_x](09_x.ipynb) and notebook 04.")
    nb = nbformat.v4.new_notebook(cells=[bad.cells[0], good_end])
    assert any("09" in p and "not in solutions" in p
               for p in closing_problems(nb, "03", ["03", "04", "05"]))
    assert any("link the following notebook" in p
               for p in closing_problems(nb, "03", ["03", "04", "05"]))
    opening = md("# 01 · T\n\nText.\n\n**You will learn to**\n\n- a;\n- b.\n\n**Time:** about 5 "
                 "minutes. **Exercises:** 1, each followed by a check cell.\n**Concept "
                 "questions:** 1, 1 of them asked before the cell that answers it.\n**Before this:** "
                 "Python.")
    code = nbformat.v4.new_code_cell('concept_question("?", ["a", "b"], 1, "x")')
    nb = nbformat.v4.new_notebook(cells=[opening, code])
    assert opening_problems(nb, "01") == [
        "the opening counts 1 exercises but the notebook has 0",
        "the opening counts 1 predict-then-run questions but the notebook has 0"]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_the_notebook_opens_in_the_course_form(path):
    problems = opening_problems(nbformat.read(path, as_version=4), path.name[:2])
    assert not problems, f"{path.name}, first cell (see this test's docstring for the form): " \
                         + "; ".join(problems)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_the_notebook_closes_in_the_course_form(path):
    problems = closing_problems(nbformat.read(path, as_version=4), path.name[:2], _numbers())
    assert not problems, f"{path.name}, last cell (see this test's docstring for the form): " \
                         + "; ".join(problems)
