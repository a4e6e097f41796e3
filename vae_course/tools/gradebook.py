"""The grader's results: one row per (notebook, exercise), shown as a table, CSV or JSON."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ..checks.core import ERROR, FAILED, NOT_ATTEMPTED, PASSED

TIMED_OUT = "timed out"
STATUSES = (PASSED, FAILED, NOT_ATTEMPTED, ERROR, TIMED_OUT)
NO_EXERCISE = "-"  # the exercise column of a row about the whole submission


@dataclass
class Row:
    """One result: ``status`` is passed, failed, not attempted, error or timed out."""

    notebook: str  # the submission's path, as shown
    lesson: str  # e.g. "03_reparameterization"; "" when unknown
    exercise: str  # NO_EXERCISE when the submission as a whole could not be graded
    status: str
    message: str
    hidden: bool = False  # a check from the instructor's extra checks


def totals(rows: list[Row]) -> dict[str, int]:
    """How many rows have each status (rows about a whole submission count as errors)."""
    return {status: sum(r.status == status for r in rows) for status in STATUSES}


def per_notebook(rows: list[Row]) -> dict[str, dict]:
    """notebook -> its lesson, passed count and number of checks."""
    out: dict[str, dict] = {}
    for r in rows:
        entry = out.setdefault(r.notebook, {"lesson": r.lesson, "passed": 0, "checks": 0})
        if r.exercise != NO_EXERCISE:
            entry["checks"] += 1
            entry["passed"] += r.status == PASSED
    return out


def table(rows: list[Row]) -> str:
    """A plain-text table of ``rows``, then a score per notebook and the totals."""
    head = ("notebook", "exercise", "result", "message")
    cells = [(r.notebook, r.exercise + (" (hidden)" if r.hidden else ""), r.status, r.message)
             for r in rows]
    widths = [max(len(c[i]) for c in [head, *cells]) for i in range(3)]
    lines = []
    for c in [head, *cells]:
        lines.append("  ".join(c[i].ljust(widths[i]) for i in range(3)) + "  " + c[3])
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * len(head[3]))
    lines.append("")
    for notebook, entry in per_notebook(rows).items():
        score = (f"{entry['passed']}/{entry['checks']} passed" if entry["checks"]
                 else "not graded")
        lines.append(f"{notebook}: {score}")
    counts = totals(rows)
    lines.append(f"totals: {len(per_notebook(rows))} notebooks, "
                 + ", ".join(f"{counts[s]} {s}" for s in STATUSES))
    return "\n".join(lines)


def write_csv(rows: list[Row], path: Path) -> None:
    """One line per row, with a header: notebook, lesson, exercise, status, message, hidden."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=[f.name for f in fields(Row)])
        writer.writeheader()
        for r in rows:
            writer.writerow(asdict(r))


def write_json(rows: list[Row], path: Path) -> None:
    """{"results": [rows...], "notebooks": {path: score}, "totals": {status: count}}."""
    data = {"results": [asdict(r) for r in rows], "notebooks": per_notebook(rows),
            "totals": totals(rows)}
    Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
