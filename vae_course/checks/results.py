"""What a check can say: an exercise's status, its result, and the exceptions a checker raises.

The statuses are one closed vocabulary, :class:`Status`, used wherever an exercise's
outcome is written, compared or counted (the check cell, the grader, the gradebook).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """The outcome of one exercise. Its value is the word that is printed and written."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_ATTEMPTED = "not attempted"
    ERROR = "error"
    TIMED_OUT = "timed out"  # only the grader says this: its run of the notebook ran too long

    @property
    def icon(self) -> str:
        return {"passed": "✅", "failed": "❌", "not attempted": "⏳", "error": "💥",
                "timed out": "⌛"}[self.value]


NOT_DONE = ("Not done yet: replace `raise NotImplementedError` with your code, run that cell, "
            "then this one.")


class Hint(Exception):
    """Something specific is off; the message says what, without giving the answer."""


class NotAttempted(Exception):
    """The exercise still raises its stub's own NotImplementedError."""


class StudentError(Exception):
    """The student's code raised an exception of its own."""


class Tampered(Exception):
    """The grader's replay of a check does not match what the student's kernel recorded."""


@dataclass
class Result:
    """The outcome of one check: its :class:`Status` and a message for the student."""

    exercise: str
    status: Status
    message: str

    def __post_init__(self):
        self.status = Status(self.status)

    @property
    def passed(self) -> bool:
        return self.status == Status.PASSED

    def __repr__(self) -> str:
        return f"{self.status.icon} {self.exercise}: {self.status}. {self.message}"

    def __str__(self) -> str:
        return repr(self)

    def as_dict(self) -> dict:
        return {"exercise": self.exercise, "status": str(self.status), "message": self.message}


@dataclass
class Summary:
    """The results of every exercise of one notebook, shown as one table."""

    notebook: str
    results: list[Result]

    def rows(self) -> list[tuple[str, str, str]]:
        return [(r.exercise, f"{r.status.icon} {r.status}", r.message) for r in self.results]

    def __repr__(self) -> str:
        done = sum(r.passed for r in self.results)
        lines = [f"{self.notebook}: {done} of {len(self.results)} exercises pass in this kernel"]
        lines += [f"  {name}: {status}. {message}" for name, status, message in self.rows()]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        done = sum(r.passed for r in self.results)
        cells = ["| exercise | result | message |", "|---|---|---|"]
        cells += [f"| `{name}` | {status} | " + message.replace("|", "\\|") + " |"
                  for name, status, message in self.rows()]
        return (f"**{self.notebook}: {done} of {len(self.results)} exercises pass in this "
                f"kernel.**\n\n" + "\n".join(cells))
