"""What the grader runs inside a student's kernel, how it judges it, and hidden checks.

After a submission's own cells have run, the grader appends one cell per exercise:

    from vae_course.tools.grader_cell import record as _vae_course_record
    _vae_course_record(globals(), "reparameterize", "/path/to/private_checks.py")

which runs the exercise's checker on the notebook's globals with every call of student
code recorded as plain data (see ``vae_course.checks.core``), and displays
that record under :data:`MIME`. One cell per exercise, so that a student's function
that never returns costs only that exercise. The grader reads the record back and
:func:`verdict` judges it in the grader's own process, with the checks it imported
before any submission ran: the kernel only computes, it never decides. Whatever a
submission changes in its kernel (the checks, vae_course, torch, this module, the
display of results) can at most change the recorded numbers, which are then judged,
or make the record disagree with the grader's own replay of the check, which is
graded as an error.

Hidden checks live in a file the instructor keeps away from students. It registers
checkers with the usual decorator::

    from vae_course.checks.core import Hint, call, checker

    @checker("reparameterize_hidden", "03_reparameterization", needs=("reparameterize",),
             success="also right for a batch of one.")
    def check_reparameterize_hidden(reparameterize): ...

It is loaded into a registry of its own, so its names never collide with the public ones.
"""

from __future__ import annotations

import base64
import binascii
import functools
import importlib.util
import threading
from pathlib import Path

from ..checks import core
from ..checks.results import Status

MIME = "application/vnd.vae-course.record+json"  # what the grader's cell displays
MAX_RECORD_CHARS = 64_000_000  # a record this large was not written by record()
# One replay at a time in the grader: checks seed torch's global generator, which
# ``vae-course grade --jobs N`` would otherwise share between the students graded at once.
_REPLAYING = threading.Lock()

CELL = """\
from vae_course.tools.grader_cell import record as _vae_course_record
_vae_course_record(globals(), {name!r}, {extra!r})
del _vae_course_record
"""


@functools.lru_cache(maxsize=8)
def load_extra_checks(path: str) -> dict[str, core.Exercise]:
    """The exercises a hidden-checks file registers, kept out of the public registry.

    Args:
        path: a Python file that uses ``@checker`` from ``vae_course.checks.core``.

    Raises:
        ValueError: the file is missing, fails to import, or reuses a public exercise name.
    """
    import vae_course.checks  # noqa: F401  (the public exercises, to detect clashes)

    file = Path(path)
    if not file.is_file():
        raise ValueError(f"extra checks file {file} not found; pass the path of a .py file.")
    public, core.EXERCISES = core.EXERCISES, {}  # the decorator registers into core.EXERCISES
    try:
        spec = importlib.util.spec_from_file_location(f"vae_course_extra_{abs(hash(path))}", file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        extra = core.EXERCISES
    except Exception as exc:
        raise ValueError(f"extra checks file {file} failed to load: "
                         f"{type(exc).__name__}: {exc}") from exc
    finally:
        core.EXERCISES = public
    clash = sorted(set(extra) & set(public))
    if clash:
        raise ValueError(f"extra checks file {file} reuses public exercise names {clash}; "
                         f"give the hidden checks names of their own (e.g. '{clash[0]}_hidden').")
    return extra


def registry(extra: str | None = None) -> dict[str, core.Exercise]:
    """Every exercise the grader knows: the public ones, plus those of the ``extra`` file."""
    from vae_course.checks import EXERCISES

    return {**EXERCISES, **(load_extra_checks(str(extra)) if extra else {})}


def record(namespace: dict, name: str, extra: str | None = None) -> None:
    """Record exercise ``name`` on ``namespace`` and display the record (in the kernel)."""
    from IPython.display import display

    try:
        bundle = {"exercise": name,
                  "record": base64.b64encode(registry(extra)[name].record_in(namespace)).decode()}
    except Exception as exc:  # e.g. a student's object that cannot be recorded at all
        bundle = {"exercise": name, "error": f"{type(exc).__name__}: {exc}"}
    display({MIME: bundle, "text/plain": f"{name}: recorded for the grader"}, raw=True)


def _error(name: str, message: str) -> dict:
    return {"exercise": name, "status": str(Status.ERROR), "message": message}


def verdict(exercise: core.Exercise, cell) -> dict | None:
    """Judge the record that the grader's cell for ``exercise`` displayed (in the grader).

    Args:
        exercise: the exercise, from the registry the grader built before any submission ran.
        cell: the executed grader cell (a notebook cell with ``outputs``).

    Returns:
        dict(exercise, status, message), or None when the cell displayed no record (it
        timed out, or the kernel died): then how the cell ran says what happened.
    """
    bundles = [out["data"][MIME] for out in cell.get("outputs", [])
               if MIME in out.get("data", {})]
    if not bundles:
        return None
    name = exercise.name
    if len(bundles) > 1:
        return _error(name, f"not graded: the grader's check cell displayed {len(bundles)} "
                            f"records where it displays one, so something in the submission "
                            f"displays results of its own.")
    bundle = bundles[0]
    if not isinstance(bundle, dict) or bundle.get("exercise") != name:
        return _error(name, "not graded: the record displayed for this exercise is not the "
                            "grader's (it names another exercise or is malformed).")
    if "error" in bundle:
        return _error(name, f"the check could not record this answer in the notebook's kernel "
                            f"({str(bundle['error'])[:300]}).")
    data = bundle.get("record")
    if not isinstance(data, str) or len(data) > MAX_RECORD_CHARS:
        return _error(name, "not graded: the record displayed for this exercise is malformed.")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return _error(name, "not graded: the record displayed for this exercise is malformed.")
    try:
        with _REPLAYING:
            return exercise.replay(raw).as_dict()
    except Exception as exc:  # one broken exercise must not hide the others
        return _error(name, f"the checker could not judge the record: {type(exc).__name__}: {exc}")
