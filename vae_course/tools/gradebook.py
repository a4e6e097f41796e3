"""The grader's results: one row per (notebook, exercise), with the student and points.

Shown as a table; written as CSV (one row per student, a column per exercise and the
total: the shape learning-management systems import) or JSON (every detail).

Students are named after the submission's path: ``submissions/<student>/...`` when the
file lies in a folder below one given to the grader, else the file name without the
lesson's name (``alice_01_autoencoder.ipynb``, ``01_autoencoder-alice.ipynb`` and
``Alice 01 autoencoder.ipynb`` all give ``alice`` / ``Alice``).
"""

from __future__ import annotations

import csv
import json
import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

from ..checks.results import Status

NO_EXERCISE = "-"  # the exercise column of a row about the whole submission
DEFAULT_POINTS = 1.0


@dataclass
class Row:
    """One result of one exercise of one submission."""

    notebook: str  # the submission's path, as shown
    lesson: str  # e.g. "03_reparameterization"; "" when unknown
    exercise: str  # NO_EXERCISE when the submission as a whole could not be graded
    status: Status
    message: str
    hidden: bool = False  # a check from the instructor's extra checks
    student: str = ""
    points: float = 0.0  # earned: all of max_points when passed, else 0 (or an override's)
    max_points: float = 0.0
    override: str = ""  # the instructor's reason, when an override set the points

    def __post_init__(self):
        self.status = Status(self.status)


# ---- students and points ------------------------------------------------------------

def student_of(path: Path, folder: Path | None, lessons: list[str]) -> str:
    """Who handed in ``path``: the first folder below ``folder`` (the folder given to the
    grader that holds it), else the file name without any lesson's name in it, else (a file
    given by itself, named only after its lesson) the folder that holds it."""
    if folder is not None:
        parts = path.relative_to(folder).parts
        if len(parts) > 1:
            return parts[0]
    stem = re.sub(r"\s*\(\d+\)$", "", path.stem)  # "name (1)": a second download
    for lesson in sorted(lessons, key=len, reverse=True):
        pattern = r"[-_ .]*" + r"[-_ .]+".join(map(re.escape, lesson.split("_"))) + r"[-_ .]*"
        rest = re.sub(pattern, "_", stem, count=1, flags=re.I)
        if rest != stem:  # a file given alone, named only after its lesson: its folder
            return rest.strip("_") or (folder is None and path.parent.name) or stem
    return stem


def load_points(path: Path, exercises: set[str]) -> dict[str, float]:
    """Points per exercise from a TOML or JSON file of ``exercise = points`` lines.

    Raises:
        ValueError: unreadable, not a table of numbers, or an unknown exercise name.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
        table_ = json.loads(text) if Path(path).suffix == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as exc:  # json and tomllib errors are ValueErrors
        raise ValueError(f"points file {path} could not be read: {exc}. Write one "
                         f"`exercise = points` line per exercise (TOML), or a JSON object.") \
            from None
    bad = {k: v for k, v in table_.items()
           if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0}
    if bad:
        raise ValueError(f"points file {path}: points must be numbers >= 0, got {bad}.")
    unknown = sorted(set(table_) - exercises)
    if unknown:
        raise ValueError(f"points file {path} names unknown exercises {unknown}; the exercises "
                         f"are {', '.join(sorted(exercises))}.")
    return {k: float(v) for k, v in table_.items()}


def award(rows: list[Row], points: dict[str, float]) -> None:
    """Fill in each row's points: the exercise's points when passed, else 0."""
    for r in rows:
        if r.exercise != NO_EXERCISE:
            r.max_points = points.get(r.exercise, DEFAULT_POINTS)
            r.points = r.max_points if r.status == Status.PASSED else 0.0


OVERRIDE_COLUMNS = ("student", "lesson", "exercise", "points", "reason")


def load_overrides(path: Path, exercises: set[str]) -> list[dict]:
    """The instructor's overrides: a CSV file with the columns ``student, lesson, exercise,
    points, reason`` (one line per grade to change; ``lesson`` may be its number, ``01``).

    Raises:
        ValueError: unreadable, a missing column, an unknown exercise, points that are not
            a number >= 0, or no reason.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            lines = list(csv.DictReader(f))
            header = set(lines[0]) if lines else set()
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"overrides file {path} could not be read: {exc}.") from None
    missing = [c for c in OVERRIDE_COLUMNS if c not in header]
    if missing:
        raise ValueError(f"overrides file {path} needs the columns {', '.join(OVERRIDE_COLUMNS)} "
                         f"in its first line; missing: {', '.join(missing)}.")
    out = []
    for n, line in enumerate(lines, start=2):
        where = f"overrides file {path}, line {n}"
        if line["exercise"] not in exercises:
            raise ValueError(f"{where}: unknown exercise {line['exercise']!r}; the exercises are "
                             f"{', '.join(sorted(exercises))}.")
        try:
            points = float(line["points"])
        except (TypeError, ValueError):
            points = -1.0
        if not points >= 0:
            raise ValueError(f"{where}: points must be a number >= 0, got {line['points']!r}.")
        if not (line["reason"] or "").strip():
            raise ValueError(f"{where}: give a reason; it is kept in the gradebook and the "
                             f"student's feedback.")
        out.append({"student": line["student"].strip(), "lesson": line["lesson"].strip(),
                    "exercise": line["exercise"], "points": points,
                    "reason": line["reason"].strip()})
    return out


def apply_overrides(rows: list[Row], overrides: list[dict]) -> list[str]:
    """Set the points the overrides name (after :func:`award`); return a note for each
    override that matches no graded exercise."""
    notes = []
    for o in overrides:
        hits = [r for r in rows if r.student == o["student"] and r.exercise == o["exercise"]
                and (r.lesson == o["lesson"] or r.lesson.split("_")[0] == o["lesson"])]
        for r in hits:
            r.points, r.override = o["points"], o["reason"]
        if not hits:
            notes.append(f"note: the override for {o['student']}, {o['lesson']}, {o['exercise']} "
                         f"matches no graded exercise; check the names.")
    return notes


def number(x: float) -> str:
    return f"{x:g}"


def per_notebook(rows: list[Row]) -> dict[str, dict]:
    """notebook -> its student, lesson, passed count, number of checks and points."""
    out: dict[str, dict] = {}
    for r in rows:
        entry = out.setdefault(r.notebook, {"student": r.student, "lesson": r.lesson,
                                            "passed": 0, "checks": 0, "points": 0.0,
                                            "max_points": 0.0})
        if r.exercise != NO_EXERCISE:
            entry["checks"] += 1
            entry["passed"] += r.status == Status.PASSED
            entry["points"] += r.points
            entry["max_points"] += r.max_points
    return out


def exercise_columns(rows: list[Row]) -> list[str]:
    """Every exercise graded, by lesson, in the order of the checks."""
    seen = {}
    for r in rows:
        if r.exercise != NO_EXERCISE:
            seen.setdefault((r.lesson, r.exercise), len(seen))
    return [ex for _, ex in sorted(seen, key=lambda k: (k[0], seen[k]))]


def per_student(rows: list[Row]) -> tuple[dict[str, dict], list[str]]:
    """student -> {"exercises": {exercise: points}, "total", "max", "notebooks"}, and notes.

    A student who handed in several notebooks of one lesson gets the one with more points
    (the first of equals); a note says so.
    """
    notebooks = per_notebook(rows)
    best: dict[tuple[str, str], str] = {}
    notes = []
    for notebook, entry in notebooks.items():
        key = (entry["student"], entry["lesson"] or notebook)
        if key in best:
            notes.append(f"note: {key[0]} handed in more than one notebook of {key[1]}: "
                         f"{best[key]} and {notebook}; the one with more points counts.")
            if entry["points"] <= notebooks[best[key]]["points"]:
                continue
        best[key] = notebook
    columns = exercise_columns(rows)
    out: dict[str, dict] = {}
    for (student, _), notebook in best.items():
        entry = out.setdefault(student, {"exercises": dict.fromkeys(columns, 0.0), "total": 0.0,
                                         "max": 0.0, "notebooks": []})
        entry["notebooks"].append(notebook)
        for r in rows:
            if r.notebook == notebook and r.exercise != NO_EXERCISE:
                entry["exercises"][r.exercise] = r.points
                entry["total"] += r.points
                entry["max"] += r.max_points
    return dict(sorted(out.items())), notes


def totals(rows: list[Row]) -> dict[str, int]:
    """How many rows have each status (rows about a whole submission count as errors)."""
    return {status: sum(r.status == status for r in rows) for status in Status}


# ---- output -------------------------------------------------------------------------

def table(rows: list[Row]) -> str:
    """A plain-text table of ``rows``, a score per notebook and per student, and the totals."""
    head = ("student", "notebook", "exercise", "result", "points", "message")
    cells = [(r.student, r.notebook, r.exercise + (" (hidden)" if r.hidden else ""), r.status,
              "" if r.exercise == NO_EXERCISE else f"{number(r.points)}/{number(r.max_points)}",
              r.message + (f" [override: {r.override}]" if r.override else "")) for r in rows]
    n = len(head) - 1
    widths = [max(len(c[i]) for c in [head, *cells]) for i in range(n)]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(n)) + "  " + c[n]
             for c in [head, *cells]]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * len(head[n]))
    lines.append("")
    for notebook, entry in per_notebook(rows).items():
        score = (f"{entry['passed']}/{entry['checks']} passed" if entry["checks"]
                 else "not graded")
        lines.append(f"{notebook}: {score}")
    students, notes = per_student(rows)
    lines.append("")
    for student, entry in students.items():
        lines.append(f"{student}: {number(entry['total'])}/{number(entry['max'])} points")
    lines += notes
    counts = totals(rows)
    lines.append(f"totals: {len(per_notebook(rows))} notebooks, {len(students)} students, "
                 + ", ".join(f"{counts[s]} {s}" for s in Status))
    return "\n".join(lines)


def write_csv(rows: list[Row], path: Path) -> None:
    """One line per student: ``student``, the points of each exercise, ``total``."""
    students, _ = per_student(rows)
    columns = exercise_columns(rows)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *columns, "total"])
        for student, entry in students.items():
            writer.writerow([student, *(number(entry["exercises"][c]) for c in columns),
                             number(entry["total"])])


def write_json(rows: list[Row], path: Path, sandboxed: bool | None = None) -> None:
    """{"results": [rows...], "notebooks": {path: score}, "students": {student: points},
    "notes": [...], "totals": {status: count}, "sandboxed": whether submissions ran confined}."""
    students, notes = per_student(rows)
    data = {"results": [asdict(r) for r in rows], "notebooks": per_notebook(rows),
            "students": students, "notes": notes, "totals": totals(rows), "sandboxed": sandboxed}
    Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
