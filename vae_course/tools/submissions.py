"""The submissions to grade: finding them, reading them safely, and naming their lesson."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from ..checks import EXERCISES
from ..checks.core import Exercise
from .student_notebook import STAMP


class SubmissionError(Exception):
    """This submission cannot be graded; the message says why and what to do."""


def submissions(paths: list[Path]) -> list[Path]:
    """The files to grade: each file given, and every file under each folder given
    (hidden files and ``.ipynb_checkpoints`` skipped)."""
    found = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and not any(
                part.startswith(".") for part in p.relative_to(path).parts))
        else:
            found.append(path)
    return found


def known_lessons(exercises: dict[str, Exercise]) -> list[str]:
    """Every lesson with an exercise: the course's, plus those of ``exercises``."""
    return sorted({e.notebook for e in (*EXERCISES.values(), *exercises.values())})


def lesson_of(nb: NotebookNode, path: Path, lessons: list[str]) -> str:
    """The lesson of a submission: from the build's stamp, else from the file name.

    Raises:
        SubmissionError: no known lesson matches.
    """
    stamped = nb.metadata.get(STAMP, {}).get("lesson")
    if stamped:
        if stamped not in lessons:
            raise SubmissionError(f"the notebook belongs to lesson {stamped!r}, which does "
                                  f"not exist (lessons: {', '.join(lessons)}).")
        return stamped
    name = re.sub(r"[^a-z0-9]+", "_", path.stem.lower())
    matches = [lesson for lesson in lessons if lesson in name]
    if not matches:  # e.g. "03_reparam_v2": go by the number
        numbers = re.findall(r"(?<![0-9])([0-9]{2})_", name + "_")
        matches = [lesson for lesson in lessons if lesson[:2] in numbers]
    if len(matches) != 1:
        raise SubmissionError(f"no lesson found: the notebook carries no lesson stamp and its "
                              f"name names {'several' if matches else 'none'} of "
                              f"{', '.join(lessons)}. Rename it after its lesson "
                              f"(e.g. {lessons[0] if lessons else 'NN_name'}.ipynb).")
    return matches[0]


def read_submission(path: Path) -> NotebookNode:
    """Parse a submission (never writing to it).

    Raises:
        SubmissionError: not readable, not JSON, or not a notebook.
    """
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SubmissionError(f"not a notebook: cannot read it as text ({exc}). Ask for the "
                              f".ipynb file (File > Download in JupyterLab).") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(f"not a notebook: the file is not valid JSON ({exc}); it is damaged "
                              f"or another kind of file. Ask for the .ipynb file (File > "
                              f"Download in JupyterLab).") from None
    if not isinstance(raw, dict) or "nbformat" not in raw:
        raise SubmissionError("not a notebook: valid JSON but not a Jupyter notebook (it has no "
                              "'nbformat' field).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4)
        for cell in nb.cells:
            cell.cell_type, cell.source  # noqa: B018  (every cell needs both)
    except Exception as exc:  # a damaged notebook fails in many ways
        raise SubmissionError(f"not a notebook: a damaged Jupyter notebook "
                              f"({type(exc).__name__}: {exc}).") from None
    return nb
