"""The machinery shared by every checker: results, hints, and recorded calls of student code.

A checker runs the student's function on fixed inputs with fixed seeds, compares it
with the reference, and raises :class:`Hint` with a specific, answer-free message at
the first thing that is off. :func:`checker` turns it into a function that returns a
:class:`Result` (shown in the notebook) and registers it for the grader.

Student code is reached only through :func:`call` (or :func:`call_traced`). In the
student's kernel a call runs the function on copies of its inputs and records what it
gave back as plain data (:mod:`.recording`, :mod:`.plain`); the checker then judges the
record. The grader runs the same checker again in its own process, where each call runs nothing:
it checks that its inputs are the ones recorded and hands back the recorded outputs.
So the verdict is always computed from plain data, and in grading never by code that
a submission could have replaced.

Writing a checker (the rules that keep the notebook and the grader in agreement):

1. The checker receives handles, not the student's objects: reach them only through
   ``call(fn, *args)`` / ``call_traced(...)``. What a call returns is plain data
   (tensors detached on the CPU, numbers, lists, tuples, dicts, NumPy arrays); any
   other object (a model) comes back as a handle again, usable only in a further call.
2. Anything else you need from a student's object (isinstance, its layers, a parameter
   count, eval()) goes into a small function of the checker passed to ``call`` with the
   handle, e.g. ``call(_layers, model)``: it runs in the kernel and returns plain data.
3. Gradients: ``call_traced(fn, *args, backward=lambda out: out[0])`` back-propagates
   the sum of the chosen tensor where the function ran; read ``trace.grads[i]`` (argument
   ``i``). Never call ``.backward()`` on a returned tensor: it is a detached copy.
4. Build every input from fixed seeds (an explicit ``torch.Generator().manual_seed(...)``
   or ``torch.manual_seed`` right before), never from the global random stream after a
   call of student code: the grader must compute the very same inputs (it checks them).
5. Inputs are copied for the student and compared afterwards, so pass them as they are
   (no ``.clone()`` needed); a function that changes one gets the in-place hint.
6. Compare with :func:`close` / :func:`as_double` (float64 on the CPU), so that a
   float64 answer is judged, not crashed on.
7. Test each catalogue entry with ``replayed(check, fn) == check(fn)``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from . import plain
from .plain import RecordError, describe  # noqa: F401  (describe: for checkers' hints)
from .recording import (Session, Trace, call, call_traced, run_checker, new_record,  # noqa: F401
                        random_state_kept, run_and_record, tampered_message, validate)
from .results import (NOT_DONE, Hint, NotAttempted, Result, Status, StudentError,  # noqa: F401
                      Tampered)


@dataclass
class Exercise:
    """One exercise: its notebook, the names the student defines, and its checker."""

    name: str
    notebook: str  # e.g. "03_reparameterization"
    needs: tuple[str, ...]  # global names the checker takes from the student's namespace
    run: Callable[..., Result] = field(repr=False)
    judge: Callable[..., None] | None = field(default=None, repr=False)  # the raw checker
    success: str = ""

    def _missing(self, namespace: dict) -> list[str]:
        return [n for n in self.needs if n not in namespace]

    def _missing_result(self, missing) -> Result:
        return Result(self.name, Status.NOT_ATTEMPTED,
                      f"`{'`, `'.join(missing)}` is not defined: run the exercise cell first.")

    def record_in(self, namespace: dict) -> bytes:
        """Run the check on ``namespace`` and return its record (in the student's kernel)."""
        missing = self._missing(namespace)
        if missing or self.judge is None:
            record = new_record(self, missing)
        else:
            _, record = run_and_record(self, [namespace[n] for n in self.needs])
        return plain.to_bytes(record)

    def replay(self, data: bytes) -> Result:
        """Judge a record made by :meth:`record_in`, running no student code (in the grader)."""
        try:
            record = plain.from_bytes(data)
            validate(record, self)
        except (RecordError, Tampered) as exc:
            return Result(self.name, Status.ERROR, tampered_message(exc))
        if record["missing"]:
            return self._missing_result(record["missing"])
        if self.judge is None:
            return Result(self.name, Status.ERROR, "this exercise's checker cannot judge a record.")
        refs = [plain.make_ref(-1 - i, str(t), bool(c))
                for i, (t, c) in enumerate(record["student"])]
        session = Session(self, "replay", calls=list(record["calls"]))
        result = run_checker(self, refs, session)
        if session.calls and not result.message.startswith("not graded"):
            return Result(self.name, Status.ERROR, tampered_message(Tampered(
                f"the kernel recorded {len(session.calls)} more call(s) of student code than "
                f"the check makes")))
        return result


EXERCISES: dict[str, Exercise] = {}


def checker(name: str, notebook: str, needs: tuple[str, ...], success: str):
    """Register ``fn(*student_objects)`` as the checker of exercise ``name``.

    ``fn`` raises :class:`Hint` on the first problem and reaches the student's objects
    only through :func:`call`. The wrapped function returns a :class:`Result` and never
    raises: not for a student's mistake, and not for a fault of the checker itself.
    """
    def wrap(fn):
        exercise = Exercise(name, notebook, tuple(needs), None, fn, success)

        @functools.wraps(fn)
        def run(*student) -> Result:
            return run_and_record(exercise, list(student))[0]

        exercise.run = run
        if name in EXERCISES:
            raise ValueError(f"exercise {name!r} is registered twice")
        EXERCISES[name] = exercise
        return run

    return wrap


# ---------------------------------------------------------------- judging helpers

def expect_tensor(out, what: str, shape: tuple[int, ...] | None = None) -> torch.Tensor:
    """Check that ``out`` is a float tensor (of ``shape``), with a hint for each common slip."""
    if out is None:
        raise Hint(f"{what} is None: did you forget the `return` statement?")
    if isinstance(out, np.ndarray):
        raise Hint(f"{what} is a NumPy array: keep it a torch tensor (use torch functions, "
                   f"not numpy ones), so that gradients can flow.")
    if isinstance(out, np.generic):
        raise Hint(f"{what} is a NumPy number: keep it a torch tensor (use torch functions, "
                   f"not numpy ones), so that gradients can flow.")
    if isinstance(out, (int, float)):
        raise Hint(f"{what} is a Python number: return the tensor itself (no `.item()`), "
                   f"so that gradients can flow.")
    if not isinstance(out, torch.Tensor):
        raise Hint(f"{what} should be a torch tensor, got {describe(out)}.")
    if not out.is_floating_point():
        raise Hint(f"{what} has dtype {out.dtype}; it should be a floating-point tensor.")
    if shape is not None and tuple(out.shape) != tuple(shape):
        raise Hint(f"{what} has shape {tuple(out.shape)}, expected {tuple(shape)}. "
                   f"Check which dimensions you sum or average over.")
    if not torch.isfinite(out.detach()).all():
        raise Hint(f"{what} contains NaN or infinite values.")
    return out


def as_double(t: torch.Tensor) -> torch.Tensor:
    """``t`` detached, on the CPU, in float64: safe to compare whatever its dtype and device."""
    return t.detach().cpu().double()


def close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    """Whether ``a`` and ``b`` agree (broadcasting as torch does), compared in float64 on the CPU."""
    a, b = as_double(torch.as_tensor(a)), as_double(torch.as_tensor(b))
    try:
        torch.broadcast_shapes(a.shape, b.shape)
    except RuntimeError:  # shapes that do not broadcast are not close
        return False
    return bool(torch.allclose(a, b, rtol=rtol, atol=atol))


def replayed(check: Callable[..., Result] | Exercise, *student) -> Result:
    """The result the grader gives: record ``check`` on ``student``, then judge the bytes.

    For tests: a checker whose replayed result differs from its direct one breaks grading.
    """
    exercise = check if isinstance(check, Exercise) else next(
        e for e in EXERCISES.values() if e.run is check)
    return exercise.replay(exercise.record_in(dict(zip(exercise.needs, student))))
