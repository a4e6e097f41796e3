"""The machinery shared by every checker: results, hints, and safe calls of student code.

A checker runs the student's function on fixed inputs with fixed seeds, compares it
with the reference, and raises :class:`Hint` with a specific, answer-free message at
the first thing that is off. :func:`checker` turns it into a function that returns a
:class:`Result` (shown in the notebook) and registers it for the grader.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

PASSED, FAILED, NOT_ATTEMPTED, ERROR = "passed", "failed", "not attempted", "error"
_ICONS = {PASSED: "✅", FAILED: "❌", NOT_ATTEMPTED: "⏳", ERROR: "💥"}


class Hint(Exception):
    """Something specific is off; the message says what, without giving the answer."""


class NotAttempted(Exception):
    """The exercise still raises NotImplementedError."""


class StudentError(Exception):
    """The student's code raised an exception of its own."""


@dataclass
class Result:
    """The outcome of one check: ``status`` is passed, failed, not attempted or error."""

    exercise: str
    status: str
    message: str

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def __repr__(self) -> str:
        return f"{_ICONS[self.status]} {self.exercise}: {self.status}. {self.message}"

    def __str__(self) -> str:
        return repr(self)

    def as_dict(self) -> dict:
        return {"exercise": self.exercise, "status": self.status, "message": self.message}


@dataclass
class Exercise:
    """One exercise: its notebook, the names the student defines, and its checker."""

    name: str
    notebook: str  # e.g. "03_reparameterization"
    needs: tuple[str, ...]  # global names the checker takes from the student's namespace
    run: Callable[..., Result] = field(repr=False)

    def run_in(self, namespace: dict) -> Result:
        """Check the student's definitions found in ``namespace`` (a notebook's globals)."""
        missing = [n for n in self.needs if n not in namespace]
        if missing:
            return Result(self.name, NOT_ATTEMPTED,
                          f"`{'`, `'.join(missing)}` is not defined: run the exercise cell first.")
        return self.run(*(namespace[n] for n in self.needs))


EXERCISES: dict[str, Exercise] = {}


def checker(name: str, notebook: str, needs: tuple[str, ...], success: str):
    """Register ``fn(*student_objects)`` as the checker of exercise ``name``.

    ``fn`` raises :class:`Hint` on the first problem. The wrapped function returns a
    :class:`Result` and never raises for a student's mistake.
    """
    def wrap(fn):
        @functools.wraps(fn)
        def run(*student) -> Result:
            try:
                fn(*student)
            except NotAttempted:
                return Result(name, NOT_ATTEMPTED,
                              "Not done yet: replace `raise NotImplementedError` with your code, "
                              "run that cell, then this one.")
            except Hint as hint:
                return Result(name, FAILED, str(hint))
            except StudentError as err:
                return Result(name, ERROR, str(err))
            return Result(name, PASSED, success)

        if name in EXERCISES:
            raise ValueError(f"exercise {name!r} is registered twice")
        EXERCISES[name] = Exercise(name, notebook, tuple(needs), run)
        return run

    return wrap


def call(fn, *args, **kwargs):
    """Call student code, turning its exceptions into NotAttempted or StudentError."""
    if not callable(fn):
        raise Hint(f"expected a function, got {type(fn).__name__}: define it with `def`.")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise NotAttempted() from None
    except (Hint, NotAttempted):
        raise
    except Exception as exc:
        raise StudentError(f"your code raised {type(exc).__name__}: {exc}. Read the message, "
                           f"fix the cell, and run it again.") from None


def expect_tensor(out, what: str, shape: tuple[int, ...] | None = None) -> torch.Tensor:
    """Check that ``out`` is a float tensor (of ``shape``), with a hint for each common slip."""
    if out is None:
        raise Hint(f"{what} is None: did you forget the `return` statement?")
    if isinstance(out, np.ndarray):
        raise Hint(f"{what} is a NumPy array: keep it a torch tensor (use torch functions, "
                   f"not numpy ones), so that gradients can flow.")
    if isinstance(out, (int, float)):
        raise Hint(f"{what} is a Python number: return the tensor itself (no `.item()`), "
                   f"so that gradients can flow.")
    if not isinstance(out, torch.Tensor):
        raise Hint(f"{what} should be a torch tensor, got {type(out).__name__}.")
    if not out.is_floating_point():
        raise Hint(f"{what} has dtype {out.dtype}; it should be a floating-point tensor.")
    if shape is not None and tuple(out.shape) != tuple(shape):
        raise Hint(f"{what} has shape {tuple(out.shape)}, expected {tuple(shape)}. "
                   f"Check which dimensions you sum or average over.")
    if not torch.isfinite(out).all():
        raise Hint(f"{what} contains NaN or infinite values.")
    return out


def close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    return bool(torch.allclose(a.detach().double(), b.detach().double(), rtol=rtol, atol=atol))
