"""``--feedback DIR``: one short Markdown file per student and notebook, to hand back.

    DIR/<student>/<lesson>.md

Each holds the notebook's points and, per exercise, its result and the hint the
student's check cell would have given. Existing files are never replaced unless the
instructor says so (``--overwrite``).
"""

from __future__ import annotations

import re
from pathlib import Path

from .gradebook import NO_EXERCISE, Row, number, per_notebook

HEADINGS = {"passed": "passed", "failed": "not yet right", "not attempted": "not attempted",
            "error": "error", "timed out": "timed out"}


def check_folder(folder: Path, overwrite: bool, option: str = "--feedback") -> None:
    """Refuse, before any grading, an output folder (given by ``option``) that holds files.

    Raises:
        ValueError: ``folder`` is a file, or holds files and ``overwrite`` is False.
    """
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{option} {folder} is a file; give a folder (it is created).")
    if not overwrite and folder.is_dir() and any(p.is_file() for p in folder.rglob("*")):
        raise ValueError(f"{option} {folder} already holds files; give a new or empty folder, "
                         f"or add --overwrite to replace files of the same name.")


def safe_name(text: str) -> str:
    """``text`` as a file name: letters, digits, ``.``, ``_`` and ``-`` kept."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "unnamed"


def markdown(notebook: str, rows: list[Row]) -> str:
    """The feedback of one submission (its rows) as Markdown."""
    first = rows[0]
    lines = [f"# {first.lesson or Path(notebook).stem}: feedback for {first.student}", "",
             f"Graded file: `{notebook}`.", ""]
    graded = [r for r in rows if r.exercise != NO_EXERCISE]
    if not graded:
        lines += ["This notebook could not be graded:", "", first.message, ""]
        return "\n".join(lines)
    earned, total = sum(r.points for r in graded), sum(r.max_points for r in graded)
    lines += [f"Points: **{number(earned)} of {number(total)}** "
              f"({sum(r.status == 'passed' for r in graded)} of {len(graded)} exercises passed).",
              "", "| exercise | result | points |", "|---|---|---|"]
    lines += [f"| `{r.exercise}`{' (hidden check)' if r.hidden else ''} | {r.status} | "
              f"{number(r.points)} / {number(r.max_points)} |" for r in graded]
    for r in graded:
        lines += ["", f"## `{r.exercise}`: {HEADINGS.get(r.status, r.status)}", "", r.message]
        if r.override:
            lines += ["", f"Your instructor set the points of this exercise to "
                          f"{number(r.points)}: {r.override}"]
    return "\n".join(lines) + "\n"


def write_feedback(rows: list[Row], folder: Path, overwrite: bool = False) -> list[Path]:
    """Write ``folder/<student>/<lesson>.md`` for every graded notebook; return the paths.

    A second notebook of the same student and lesson gets ``<lesson>-2.md``; an
    existing file is replaced only when ``overwrite``.

    Raises:
        FileExistsError: a file is in the way and ``overwrite`` is False.
    """
    written: list[Path] = []
    for notebook, entry in per_notebook(rows).items():
        mine = [r for r in rows if r.notebook == notebook]
        base = folder / safe_name(entry["student"]) / safe_name(entry["lesson"]
                                                                 or Path(notebook).stem)
        path, n = base.with_suffix(".md"), 1
        while path in written:
            n += 1
            path = base.with_name(f"{base.name}-{n}.md")
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; not replaced (add --overwrite to replace it).")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(markdown(notebook, mine), encoding="utf-8")
        written.append(path)
    return written
