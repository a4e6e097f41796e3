"""The grader's results on disk: one record per graded submission, so nothing is lost.

    vae-course grade submissions/ --results results/             # a rerun skips what is done
    vae-course grade submissions/ --results results/ --shard 2/8  # this task's eighth
    vae-course merge results/ --csv grades.csv                    # one gradebook of all shards

A record is written as soon as a submission is graded, atomically (a temporary file
renamed into place), under a name made from the submission's bytes and the settings
that decide its grade (the course's code, the extra checks, the time limits, the
sandbox). A rerun with the same results folder finds the record and does not grade that
file again; a changed file or changed settings give a new name, so it is graded again.

Shards split a class by student, not by file: ``shard_of(student, n)`` hashes the
student's name, so a student always lands in the same shard whatever else is in the
class, and one student's notebooks are graded by one task.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from .gradebook import Row

FORMAT = "vae-course-grade-result/1"
SUFFIX = ".result.json"
AWARDED = ("points", "max_points", "override")  # a row's fields set when the gradebook is made


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` -> (K, N), 1 <= K <= N.

    Raises:
        ValueError: with the expected form, for anything else.
    """
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise ValueError(f"--shard {text!r}: write K/N with 1 <= K <= N, for example 3/8 for the "
                         f"third of eight shards.")
    return int(match[1]), int(match[2])


def shard_of(student: str, n: int) -> int:
    """The shard (1..n) that grades ``student``: the same student, the same shard, always."""
    digest = hashlib.sha256(student.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % n + 1


def code_digest() -> str:
    """A digest of the course package's Python sources: new checks mean new grades."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def settings_digest(**settings) -> str:
    """A digest of what decides a grade besides the submission (pass JSON-able values)."""
    text = json.dumps({"code": code_digest(), **settings}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def record_key(path: str, content: bytes, settings: str) -> str:
    """The record's name: the submission's path as shown, its bytes and the settings' digest
    (two students handing in the same bytes still get a record each)."""
    h = hashlib.sha256()
    for part in (path.encode("utf-8", "surrogateescape"), content, settings.encode()):
        h.update(len(part).to_bytes(8, "big") + part)
    return h.hexdigest()[:32]


class Store:
    """A folder of records. ``get`` and ``put`` rows by key; ``records`` reads them all."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}{SUFFIX}"

    def get(self, key: str) -> list[Row] | None:
        """The rows stored under ``key``, or None (none stored, or unreadable)."""
        record = self._read(self._path(key))
        return None if record is None else rows_of(record)

    def put(self, key: str, rows: list[Row], *, path: str, position: int,
            sandboxed: bool) -> None:
        """Store ``rows`` under ``key``, whole or not at all."""
        self.folder.mkdir(parents=True, exist_ok=True)
        record = {"format": FORMAT, "path": path, "position": position, "sandboxed": sandboxed,
                  "graded_at": time.time(),
                  "rows": [{k: v for k, v in asdict(r).items() if k not in AWARDED} for r in rows]}
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".partial-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(record, f, ensure_ascii=False)
            os.replace(tmp, self._path(key))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def records(self) -> list[dict]:
        """Every readable record in the folder."""
        found = (self._read(file) for file in sorted(self.folder.glob(f"*{SUFFIX}")))
        return [record for record in found if record is not None]

    @staticmethod
    def _read(file: Path) -> dict | None:
        try:
            record = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) and record.get("format") == FORMAT else None


def rows_of(record: dict) -> list[Row]:
    return [Row(**row) for row in record["rows"]]


def collect(folders: list[Path]) -> list[dict]:
    """The newest record of each submission path in ``folders``, in class order."""
    newest: dict[str, dict] = {}
    for folder in folders:
        for record in Store(folder).records():
            old = newest.get(record["path"])
            if old is None or record["graded_at"] > old["graded_at"]:
                newest[record["path"]] = record
    return sorted(newest.values(), key=lambda r: (r["position"], r["path"]))
