"""Turn a solution notebook into the student notebook, one small transformation at a time.

Solution code sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines (the
nbgrader convention). Each such region becomes ``# YOUR CODE HERE`` and a
``raise NotImplementedError(...)`` naming the exercise, at the region's indent;
outputs, execution counts and noisy metadata are dropped, and the notebook is stamped
with its lesson and hashes so that a later build can tell whether someone edited it.

Every function here is pure: it takes cells or notebooks and returns new ones.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass

from nbformat import NotebookNode

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB_COMMENT = "# YOUR CODE HERE"
STUB_RAISE = 'raise NotImplementedError("Exercise `{name}`: replace this line with your code.")'
STAMP = "vae_course"  # key of the notebook metadata written by the build

# Metadata worth keeping; everything else (timings, widget state, collapsed, scrolled,
# trusted, editor settings ...) is noise that changes from one run or machine to the next.
CELL_METADATA_KEPT = ("tags", "editable", "deletable")
CELL_JUPYTER_KEPT = ("source_hidden",)
NOTEBOOK_METADATA_KEPT = ("kernelspec",)

_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+(\w+)\s*\(")
_STUB_NAME = re.compile(r'raise NotImplementedError\("Exercise `(\w+)`')
LEAK_MIN_CHARS = 15  # solution lines this long are leaks even inside a longer line
# Lines too common to count as leaked solution code.
_TRIVIAL = {"else:", "try:", "finally:", "pass", "return", "break", "continue", "except:",
            "except Exception:", "return None"}


class MarkerError(ValueError):
    """Solution markers are misplaced; the message names the notebook, the cell and the fix."""


@dataclass(frozen=True)
class Region:
    """One solution region: the line numbers (0-based) of its two markers, and its indent."""

    begin: int
    end: int
    indent: str


def _is_marker(line: str, marker: str) -> bool:
    return line.strip().startswith(marker)


def find_regions(source: str) -> list[Region]:
    """The solution regions of one code cell's source, in order.

    Raises:
        MarkerError: a region opens inside another, closes without opening, or never
            closes. The message gives the line (1-based) and how to fix it.
    """
    regions, begin = [], None
    for number, line in enumerate(source.split("\n")):
        if _is_marker(line, BEGIN):
            if begin is not None:
                raise MarkerError(f"line {number + 1}: `{BEGIN}` inside the region opened on line "
                                  f"{begin + 1} (nested markers). Close the first region with "
                                  f"`{END}` before opening another.")
            begin = number
        elif _is_marker(line, END):
            if begin is None:
                raise MarkerError(f"line {number + 1}: `{END}` without a `{BEGIN}` above it. "
                                  f"Add the missing `{BEGIN}` or delete this line.")
            indent = re.match(r"\s*", source.split("\n")[begin]).group()
            regions.append(Region(begin, number, indent))
            begin = None
    if begin is not None:
        raise MarkerError(f"line {begin + 1}: `{BEGIN}` is never closed. Add `{END}` after the "
                          f"solution code, at the same indent.")
    return regions


def enclosing_function(lines: list[str], line: int, indent: str) -> str | None:
    """The name of the nearest ``def`` above ``line`` that is less indented than ``indent``."""
    for above in reversed(lines[:line]):
        match = _DEF.match(above)
        if match and len(match.group(1)) < len(indent):
            return match.group(2)
    return None


def stub_lines(indent: str, name: str) -> list[str]:
    """What a solution region becomes: a comment and a raise that names the exercise."""
    return [f"{indent}{STUB_COMMENT}", indent + STUB_RAISE.format(name=name)]


def replace_regions(source: str, fallback_name: str) -> str:
    """Replace every solution region of a code cell's source by :func:`stub_lines`.

    Args:
        source: the cell's source.
        fallback_name: the exercise name for a region that is not inside a ``def``.
    """
    lines = source.split("\n")
    out, start = [], 0
    for region in find_regions(source):
        name = enclosing_function(lines, region.begin, region.indent) or fallback_name
        out += lines[start:region.begin] + stub_lines(region.indent, name)
        start = region.end + 1
    return "\n".join(out + lines[start:])


def reject_markers_outside_code(cell: NotebookNode) -> None:
    """Raise MarkerError when a markdown or raw cell holds a solution marker."""
    if cell.cell_type != "code" and (BEGIN in cell.source or END in cell.source):
        raise MarkerError(f"a {cell.cell_type} cell holds a solution marker; markers only work "
                          f"in code cells. Move the solution into a code cell, or reword the text.")


def clean_cell_metadata(metadata: dict) -> dict:
    """Keep tags and the few settings a student should get; drop the rest."""
    kept = {k: copy.deepcopy(v) for k, v in metadata.items() if k in CELL_METADATA_KEPT}
    jupyter = {k: v for k, v in metadata.get("jupyter", {}).items() if k in CELL_JUPYTER_KEPT}
    if jupyter:
        kept["jupyter"] = jupyter
    return kept


def clean_notebook_metadata(metadata: dict) -> dict:
    """Keep the kernelspec and the language's name; drop versions, widget state and the like."""
    kept = {k: copy.deepcopy(v) for k, v in metadata.items() if k in NOTEBOOK_METADATA_KEPT}
    if "language_info" in metadata:
        kept["language_info"] = {"name": metadata["language_info"].get("name", "python")}
    return kept


def clear_outputs(cell: NotebookNode) -> NotebookNode:
    """A copy of ``cell`` without outputs or execution count (code cells only)."""
    cell = copy.deepcopy(cell)
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    return cell


def student_cell(cell: NotebookNode, fallback_name: str) -> NotebookNode:
    """The student version of one cell: regions stubbed, outputs cleared, metadata cleaned."""
    reject_markers_outside_code(cell)
    cell = clear_outputs(cell)
    cell.metadata = clean_cell_metadata(cell.metadata)
    if cell.cell_type == "code":
        cell.source = replace_regions(cell.source, fallback_name)
    return cell


def source_hash(nb: NotebookNode) -> str:
    """A hash of the notebook's cell types and sources (not outputs, not metadata)."""
    cells = [[cell.cell_type, cell.source] for cell in nb.cells]
    return hashlib.sha256(json.dumps(cells).encode()).hexdigest()[:16]


def stamp(nb: NotebookNode, lesson: str, generated_from: str) -> NotebookNode:
    """Record the lesson, the solution's hash and the generated content's hash in the metadata."""
    nb.metadata[STAMP] = {"lesson": lesson, "generated_from": generated_from,
                          "content_hash": source_hash(nb)}
    return nb


def student_notebook(solution: NotebookNode, lesson: str, where: str = "") -> NotebookNode:
    """The student notebook made from a solution notebook.

    Args:
        solution: the solution notebook (left unchanged).
        lesson: the lesson name, e.g. "03_reparameterization".
        where: how error messages name the notebook (e.g. its path); defaults to ``lesson``.

    Raises:
        MarkerError: markers are nested, unbalanced, or in a markdown cell; the message
            names the notebook and the cell.
    """
    nb = copy.deepcopy(solution)
    cells = []
    for index, cell in enumerate(nb.cells):
        try:
            cells.append(student_cell(cell, fallback_name=f"{lesson} cell {index + 1}"))
        except MarkerError as exc:
            raise MarkerError(f"{where or lesson}, cell {index + 1}: {exc}") from None
    nb.cells = cells
    nb.metadata = clean_notebook_metadata(nb.metadata)
    return stamp(nb, lesson, source_hash(solution))


def is_edited(nb: NotebookNode) -> bool:
    """Whether a generated notebook's cells changed since it was generated (or it has no stamp)."""
    recorded = nb.metadata.get(STAMP, {}).get("content_hash")
    return recorded != source_hash(nb)


# ---- leaks, outputs, and putting solutions back -------------------------------------

def solution_lines(solution: NotebookNode) -> list[str]:
    """The non-trivial lines (stripped) inside the solution regions of a notebook."""
    found = []
    for cell in solution.cells:
        if cell.cell_type != "code":
            continue
        lines = cell.source.split("\n")
        for region in find_regions(cell.source):
            for line in lines[region.begin + 1:region.end]:
                text = line.strip()
                if re.search(r"\w", text) and text not in _TRIVIAL:
                    found.append(text)
    return found


def find_leaks(solution: NotebookNode, student: NotebookNode) -> list[tuple[int, str]]:
    """(cell number, solution line) for each solution line found in the student notebook.

    A line counts when it is a whole line of a cell (indent aside) or, for lines of at
    least :data:`LEAK_MIN_CHARS` characters, anywhere in a cell (e.g. in a markdown hint).
    """
    secret = set(solution_lines(solution))
    long = [line for line in secret if len(line) >= LEAK_MIN_CHARS]
    leaks = []
    for index, cell in enumerate(student.cells):
        lines = {line.strip() for line in cell.source.split("\n")}
        found = (lines & secret) | {line for line in long if line in cell.source}
        leaks += [(index + 1, line) for line in sorted(found)]
    return leaks


def cells_with_outputs(nb: NotebookNode) -> list[int]:
    """Numbers (1-based) of the code cells that carry outputs or an execution count."""
    return [i + 1 for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count"))]


def stub_name(line: str) -> str | None:
    """The exercise named by a stub's raise line, or None for any other line."""
    match = _STUB_NAME.search(line)
    return match.group(1) if match else None


def put_back(student: NotebookNode, solution: NotebookNode,
             exercises: set[str] | None = None) -> NotebookNode:
    """The student notebook with solution regions put back where its stubs are.

    Cells are matched by position, so ``student`` must have been generated from
    ``solution``. Markers are not put back, only the code between them.

    Args:
        exercises: put back only the stubs of these exercises (default: all).
    """
    nb = copy.deepcopy(student)
    for cell, source_cell in zip(nb.cells, solution.cells):
        if cell.cell_type != "code" or STUB_COMMENT not in cell.source:
            continue
        bodies = iter([source_cell.source.split("\n")[r.begin + 1:r.end]
                       for r in find_regions(source_cell.source)])
        lines, out = cell.source.split("\n"), []
        for i, line in enumerate(lines):
            name = stub_name(line)
            if name is not None and i > 0 and lines[i - 1].strip() == STUB_COMMENT:
                body = next(bodies)
                if exercises is None or name in exercises:
                    out[-1:] = body
                    continue
            out.append(line)
        cell.source = "\n".join(out)
    return nb
