"""Calls of student code: run and recorded in the student's kernel, read back in the grader.

A check runs in a session. In the kernel ("record") :func:`call` runs the student's
function on copies of its inputs and appends what happened to the session's record as
plain data; in the grader ("replay") it runs nothing, checks that its inputs have the
digest recorded for that call, and hands back the recorded outcome. Both then interpret
the outcome the same way (:func:`_interpret`), so a check judges the same data in both.
"""

from __future__ import annotations

import contextlib
from contextlib import nullcontext
import copy
import functools
import inspect
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from . import plain
from .answers import COPIED, Watch
from .plain import RecordError, Ref
from .results import NOT_DONE, Hint, NotAttempted, Result, Status, StudentError, Tampered

FORMAT = 1  # version of the records that cross from the kernel to the grader

# The raise line that `vae-course build` puts in place of a solution (student_notebook.py).
_STUB = re.compile(r"^Exercise `(\w+)`: replace this line with your code\.$")
_LEAF_INPLACE = "a leaf Variable that requires grad is being used in an in-place operation"


class Session:
    """The calls of one check: run and recorded ("record") or read back ("replay").

    ``exercise`` is the :class:`~vae_course.checks.core.Exercise` being checked (or None).
    """

    def __init__(self, exercise, mode: str, student=(), calls=None):
        self.exercise, self.mode = exercise, mode
        self.student = list(student)  # the live student objects (record only)
        self.live: list = []  # live objects behind the handles that calls returned
        self.calls = calls if calls is not None else []
        self.copied: list[str] = []  # the course's answers that the student's code ran
        self.unwatched = False  # the student's code switched the watch off

    def resolve(self, value):
        """A handle's live object (record), recursively through lists, tuples and dicts."""
        if isinstance(value, Ref):
            key = plain.ref_key(value)
            if key < 0:
                return self.student[-1 - key]
            return self.live[key]
        if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
            return type(value)(self.resolve(v) for v in value)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value

    def next_call(self, key: str) -> dict:
        if not self.calls:
            raise Tampered("the check makes a call of student code that the kernel did not "
                           "record")
        rec = self.calls.pop(0)
        if rec.get("digest") != key:
            raise Tampered("a call of student code had other inputs in the kernel than in the "
                           "grader")
        return rec


_ACTIVE: list[Session] = []


def new_record(exercise, missing=(), student=()) -> dict:
    """An empty record of one check of ``exercise``: what the kernel sends the grader."""
    return {"format": FORMAT, "exercise": exercise.name, "missing": list(missing),
            "student": [(plain.describe(s), callable(s)) for s in student], "calls": []}


def validate(record, exercise) -> None:
    """Raise :class:`RecordError` or :class:`Tampered` unless ``record`` is a well-formed
    record of ``exercise``."""
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise RecordError("not a record of this version of the checks")
    if record.get("exercise") != exercise.name:
        raise Tampered(f"the record is of exercise {record.get('exercise')!r}")
    ok = (isinstance(record.get("missing"), list)
          and all(isinstance(m, str) for m in record["missing"])
          and isinstance(record.get("calls"), list)
          and all(isinstance(c, dict) for c in record["calls"])
          and isinstance(record.get("student"), list)
          and (record["missing"] or len(record["student"]) == len(exercise.needs)))
    if not ok:
        raise RecordError("the record's fields are malformed")


def tampered_message(exc: Exception) -> str:
    """What the student reads when the kernel's record and the grader's replay disagree."""
    return (f"not graded: what the notebook's kernel reported for this exercise does not "
            f"match the grader's own check ({exc}). Something in the submission changed the "
            f"checks, vae_course or torch while it ran; run the notebook top to bottom in a "
            f"fresh kernel without such code.")


@contextlib.contextmanager
def random_state_kept():
    """Leave torch's (CPU and initialised CUDA), NumPy's and Python's random state as found."""
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    py, np_state = random.getstate(), np.random.get_state()
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        random.setstate(py)
        np.random.set_state(np_state)


@contextlib.contextmanager
def torch_defaults():
    """Check with torch's defaults (float32, CPU, gradients on), whatever the notebook set,
    so that the kernel builds the inputs the grader builds; the notebook's settings return."""
    dtype, grad = torch.get_default_dtype(), torch.is_grad_enabled()
    device = torch.get_default_device()
    try:
        torch.set_default_dtype(torch.float32)
        torch.set_default_device("cpu")
        torch.set_grad_enabled(True)
        yield
    finally:
        torch.set_default_dtype(dtype)
        torch.set_default_device(device)
        torch.set_grad_enabled(grad)


def run_and_record(exercise, student: list) -> tuple[Result, dict]:
    """Check the live ``student`` objects (in the kernel): the result and its record."""
    record = new_record(exercise, (), student)
    session = Session(exercise, "record", student, record["calls"])
    refs = [plain.make_ref(-1 - i, plain.describe(s), callable(s)) for i, s in enumerate(student)]
    return run_checker(exercise, refs, session), record


def run_checker(exercise, refs: list, session: Session) -> Result:
    """Run ``exercise``'s checker on handles ``refs`` in ``session``; never raises."""
    name = exercise.name
    _ACTIVE.append(session)
    try:
        with random_state_kept(), torch_defaults():
            exercise.judge(*refs)
    except NotAttempted:
        return Result(name, Status.NOT_ATTEMPTED, NOT_DONE)
    except Hint as hint:
        return Result(name, Status.FAILED, str(hint))
    except StudentError as err:
        return Result(name, Status.ERROR, str(err))
    except (Tampered, RecordError) as exc:
        return Result(name, Status.ERROR, tampered_message(exc))
    except Exception as exc:  # a fault of the checker: say so, never a traceback
        return Result(name, Status.ERROR, f"the check could not judge this answer "
                                          f"({type(exc).__name__}: {exc}).")
    finally:
        _ACTIVE.remove(session)
    if session.copied:
        return Result(name, Status.FAILED, COPIED.format(name=session.copied[0]))
    if session.unwatched:
        return Result(name, Status.FAILED, "not credited: your function replaced the profile "
                                           "hook (sys.setprofile) that the check watches it with.")
    return Result(name, Status.PASSED, exercise.success)


def _session() -> Session:
    return _ACTIVE[-1] if _ACTIVE else Session(None, "record")


# ---------------------------------------------------------------- calls of student code

@dataclass
class Trace:
    """What one call of student code gave, as plain data.

    Attributes:
        out: what the function returned (tensors detached on the CPU; ``requires_grad``
            tells whether the original carried a gradient).
        grads: gradients after a backward pass through ``backward(out)``, by argument
            position (or keyword name): a tensor for a tensor that requires grad, a list
            (one per parameter) for a module, None where no gradient arrived.
        backward_error: why no backward pass ran (None when it did, or was not asked for).
        generator_used: for each ``torch.Generator`` argument, whether the function drew
            from it.
        spied: for each plain function argument, the shapes of the tensors it was called
            with, one tuple of shapes per call.
        aliased: pairs (i, j) of positions in a returned tuple or list that hold the same
            tensor (one in-place update then changes both).
    """

    out: object
    grads: dict = field(default_factory=dict)
    backward_error: str | None = None
    generator_used: dict = field(default_factory=dict)
    spied: dict = field(default_factory=dict)
    aliased: list = field(default_factory=list)


def call(fn, *args, **kwargs):
    """Call student code on copies of ``args`` and return what it returned, as plain data.

    Raises :class:`NotAttempted` for the exercise's own stub, :class:`StudentError` for
    any other exception, and :class:`Hint` when it is not a function or changed an input.
    """
    return call_traced(fn, *args, **kwargs).out


def call_traced(fn, *args, backward: Callable | None = None, **kwargs) -> Trace:
    """Like :func:`call`, and also gradients, generator use and calls of function arguments.

    Args:
        backward: picks the tensor to differentiate from the raw result (e.g.
            ``lambda out: out[1]``); its ``.sum()`` is back-propagated where the
            function ran, and the gradients of the inputs are recorded in ``Trace.grads``.
    """
    session = _session()
    key = plain.digest(fn, args, kwargs, backward)
    if session.mode == "record":
        rec = _execute(session, fn, args, kwargs, backward)
        rec["digest"] = key
        session.calls.append(rec)
    else:
        rec = session.next_call(key)
    return _interpret(session, rec)


def _names(fn, args, kwargs) -> tuple[list[str], dict]:
    try:
        bound = inspect.signature(fn).bind_partial(*args, **kwargs).arguments
        names = list(bound)[: len(args)]
    except (TypeError, ValueError):
        names = []
    names += [f"argument {i + 1}" for i in range(len(names), len(args))]
    return names, {k: k for k in kwargs}


def _spy(fn, log: list):
    @functools.wraps(fn)
    def spied(*a, **k):
        if len(log) < 100_000:
            log.append(tuple(tuple(v.shape) if isinstance(v, torch.Tensor) else None for v in a))
        return fn(*a, **k)
    return spied


def _for_student(value, spies: dict, key):
    """A copy of an input for the student's function, so that the original stays as it was."""
    if isinstance(value, torch.Tensor):
        copied = value.detach().clone()  # a new leaf: gradients reach the copy
        return copied.requires_grad_(value.requires_grad)
    if isinstance(value, torch.nn.Module):
        return copy.deepcopy(value)
    if isinstance(value, torch.Generator):
        clone = torch.Generator(device=value.device)
        clone.set_state(value.get_state())
        return clone
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(_for_student(v, {}, None) for v in value)
    if isinstance(value, dict):
        return {k: _for_student(v, {}, None) for k, v in value.items()}
    if callable(value) and not isinstance(value, type) and key is not None:
        spies[key] = []
        return _spy(value, spies[key])
    return value


def _changed(original, given) -> str | None:
    """How the student's function changed its copy of an input, or None."""
    if isinstance(original, torch.Tensor) and isinstance(given, torch.Tensor):
        if given.requires_grad != original.requires_grad:
            return "requires_grad"
        if given.is_leaf and given.grad is not None:
            return "grad"
        same = (given.shape == original.shape and given.dtype == original.dtype
                and torch.equal(given.detach().isnan(), original.detach().isnan())
                and torch.equal(given.detach().nan_to_num(), original.detach().nan_to_num()))
        return None if same else "values"
    if isinstance(original, torch.nn.Module) and isinstance(given, torch.nn.Module):
        before, after = original.state_dict(), given.state_dict()
        if before.keys() != after.keys() or any(
                not torch.equal(before[k], after[k]) for k in before):
            return "weights"
        return None
    if isinstance(original, (list, tuple)) and isinstance(given, (list, tuple)):
        if len(original) != len(given):
            return "values"
        return next((c for o, g in zip(original, given) if (c := _changed(o, g))), None)
    if isinstance(original, dict) and isinstance(given, dict):
        if original.keys() != given.keys():
            return "values"
        return next((c for k in original if (c := _changed(original[k], given[k]))), None)
    return None


def _is_stub(exc: BaseException, session: Session, target) -> bool:
    """The exercise's own placeholder, raised from the function it stands in for."""
    match = isinstance(exc, NotImplementedError) and _STUB.match(str(exc))
    if not match:
        return False
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    stub = match.group(1)
    if tb is None or tb.tb_frame.f_code.co_name != stub:
        return False
    allowed = {getattr(target, "__name__", None)}
    if session.exercise is not None:
        allowed |= {session.exercise.name, *session.exercise.needs}
    owner = target if isinstance(target, type) else type(target)
    for cls in getattr(owner, "__mro__", ()):
        if cls.__module__.split(".")[0] not in ("builtins", "torch"):
            allowed |= set(vars(cls))
    return stub in allowed


def _execute(session: Session, fn, args, kwargs, backward) -> dict:
    target = session.resolve(fn)
    if not callable(target):
        return {"outcome": "not callable", "type": plain.describe(target)}
    # The checker's own inputs are copied (and compared afterwards); the student's own
    # objects (handles) are passed as they are: a model may update its own buffers.
    theirs = {i for i, a in enumerate(args) if isinstance(a, Ref)}
    theirs |= {k for k, v in kwargs.items() if isinstance(v, Ref)}
    args, kwargs = session.resolve(args), session.resolve(kwargs)
    spies: dict = {}
    given = [a if i in theirs else _for_student(a, spies, i) for i, a in enumerate(args)]
    given_kw = {k: v if k in theirs else _for_student(v, spies, k) for k, v in kwargs.items()}
    names, kw_names = _names(target, args, kwargs)
    grad_mode, dtype = torch.is_grad_enabled(), torch.get_default_dtype()
    exercise = session.exercise
    watch = Watch(exercise.name, exercise.needs) if exercise is not None else nullcontext()
    try:
        with torch.enable_grad(), watch:
            out = target(*given, **given_kw)
    except (Exception, SystemExit) as exc:
        return {"outcome": "raised", "type": type(exc).__name__, "message": str(exc),
                "stub": _is_stub(exc, session, target)}
    finally:
        torch.set_grad_enabled(grad_mode)
        torch.set_default_dtype(dtype)
    pairs = [(names[i], args[i], given[i], i) for i in range(len(args)) if i not in theirs]
    pairs += [(kw_names[k], kwargs[k], given_kw[k], k) for k in kwargs if k not in theirs]
    for name, original, copied, _ in pairs:
        how = _changed(original, copied)
        if how:
            return {"outcome": "changed", "name": name, "how": how}
    rec = {"outcome": "returned", "backward_error": None,
           "generators": {k: not torch.equal(original.get_state(), copied.get_state())
                          for _, original, copied, k in pairs
                          if isinstance(original, torch.Generator)},
           "spied": spies, "aliased": _aliased(out),
           "copied": list(getattr(watch, "seen", [])), "unwatched": getattr(watch, "tampered", False)}
    grads = {}
    if backward is not None:
        rec["backward_error"] = _backward(out, backward, pairs)
        for _, original, copied, k in pairs:
            if isinstance(copied, torch.Tensor) and copied.requires_grad:
                grads[k] = copied.grad
            elif isinstance(copied, torch.nn.Module):
                grads[k] = [p.grad for p in copied.parameters()]
    rec["out"], rec["grads"] = plain.encode(out, session.live), plain.encode(grads)
    return rec


def _aliased(out) -> list[tuple[int, int]]:
    """Pairs of positions in a returned tuple or list that hold one and the same tensor data."""
    if not isinstance(out, (tuple, list)):
        return []
    where = []
    for i, v in enumerate(out[:16]):
        if isinstance(v, torch.Tensor):
            try:
                where.append((i, v.untyped_storage().data_ptr(), v.storage_offset(), v.shape))
            except Exception:  # tensors without storage (meta, subclasses)
                pass
    return [(i, j) for a, (i, *key) in enumerate(where) for (j, *other) in where[a + 1:]
            if key == other and key[0] != 0]


def _backward(out, backward, pairs) -> str | None:
    try:
        chosen = backward(out)
    except Exception:
        return "the result does not have the expected form"
    if not isinstance(chosen, torch.Tensor) or not chosen.requires_grad:
        return "the result carries no gradient"
    for _, _, copied, _ in pairs:
        if isinstance(copied, torch.nn.Module):
            for p in copied.parameters():
                p.grad = None
    try:
        with torch.enable_grad():
            chosen.sum().backward()
    except Exception as exc:
        return f"the backward pass raised {type(exc).__name__}: {exc}"
    return None


def _student_error(kind: str, message: str) -> StudentError:
    said = f"{kind}: {message}" if message.strip() else f"{kind} (without a message)"
    if kind == "NotImplementedError":
        return StudentError(f"your code raised {said}. This is not the exercise's own "
                            f"placeholder: something your function calls is not implemented "
                            f"(a torch function for these arguments, or a method of your own).")
    return StudentError(f"your code raised {said}. Read the message, fix the cell, and run "
                        f"it again.")


def _in_place_hint(name: str, how: str) -> Hint:
    if how == "requires_grad":
        return Hint(f"your function switched on requires_grad of the caller's `{name}`: make a "
                    f"new tensor from it for the gradients instead, so that the caller's tensor "
                    f"stays as it was (a second call would otherwise add up gradients).")
    if how == "grad":
        return Hint(f"your function left gradients in the caller's `{name}` (its .grad is "
                    f"set): compute them on a new tensor made from it, so that the caller's "
                    f"tensor stays as it was.")
    if how == "weights":
        return Hint(f"your function changed the weights of `{name}` in place: it should only "
                    f"apply it, and leave its parameters as they were.")
    return Hint(f"your function changed `{name}` in place (`/=`, `exp_`, ...): use the "
                f"out-of-place form, so that the caller's `{name}` stays as it was.")


def _interpret(session: Session, rec: dict) -> Trace:
    try:
        outcome = rec["outcome"]
        if outcome == "not callable":
            raise Hint(f"expected a function, got {rec['type']}: define it with `def`.")
        if outcome == "raised":
            if rec["stub"]:
                raise NotAttempted()
            if str(rec["message"]).startswith(_LEAF_INPLACE):
                raise Hint("your function changed one of its inputs in place (`+=`, `add_`, "
                           "...), which torch refuses for a tensor that requires grad: use the "
                           "out-of-place form, so that the caller's tensors stay as they were.")
            raise _student_error(str(rec["type"]), str(rec["message"]))
        if outcome == "changed":
            raise _in_place_hint(str(rec["name"]), str(rec["how"]))
        if outcome != "returned":
            raise RecordError(f"unknown outcome {outcome!r}")
        grads = plain.decode(rec["grads"])
        spied = {k: [tuple(s) for s in v] for k, v in dict(rec["spied"]).items()}
        aliased = [(int(i), int(j)) for i, j in rec["aliased"]]
        session.copied += [str(c) for c in rec.get("copied", [])][:8]
        session.unwatched |= bool(rec.get("unwatched", False))
        return Trace(plain.decode(rec["out"]), grads if isinstance(grads, dict) else {},
                     rec["backward_error"], dict(rec["generators"]), spied, aliased)
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        raise RecordError(f"a malformed call record ({type(exc).__name__}: {exc})") from None
