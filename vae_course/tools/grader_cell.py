"""What the grader runs inside a student's kernel, and the instructor's hidden checks.

After a submission's own cells have run, the grader appends one cell per exercise:

    from vae_course.tools.grader_cell import report as _vae_course_report
    _vae_course_report(globals(), "reparameterize", "/path/to/private_checks.py")

which runs the exercise's checker on the notebook's globals and displays the result
under :data:`MIME` for the grader to read back. One cell per exercise, so that a
student's function that never returns costs only that exercise.

Hidden checks live in a file the instructor keeps away from students. It registers
checkers with the usual decorator::

    from vae_course.checks.core import Hint, call, checker

    @checker("reparameterize_hidden", "03_reparameterization", needs=("reparameterize",),
             success="also right for a batch of one.")
    def check_reparameterize_hidden(reparameterize): ...

It is loaded into a registry of its own, so its names never collide with the public ones.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from ..checks import core

MIME = "application/vnd.vae-course.result+json"

# Run before the student's cells: IPython's exit() and quit() would end the kernel a
# moment later, in the middle of another cell; while grading they only raise SystemExit,
# which IPython shows as an error in that cell and survives.
SETUP = "from vae_course.tools.grader_cell import no_exit as exit, no_exit as quit"

CELL = """\
from vae_course.tools.grader_cell import report as _vae_course_report
_vae_course_report(globals(), {name!r}, {extra!r})
del _vae_course_report
"""


def no_exit(*args, **kwargs) -> None:
    """Stands in for exit() and quit() while grading."""
    raise SystemExit("exit() and quit() are ignored while grading")


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


def check(namespace: dict, name: str, extra: str | None = None) -> dict:
    """Run exercise ``name`` on ``namespace``; a checker that breaks gives an error result."""
    try:
        return registry(extra)[name].run_in(namespace).as_dict()
    except Exception as exc:  # one broken exercise must not hide the others
        return {"exercise": name, "status": core.ERROR,
                "message": f"the checker could not run: {type(exc).__name__}: {exc}"}


def report(namespace: dict, name: str, extra: str | None = None) -> None:
    """Display the result of :func:`check` so that the grader can read it back."""
    from IPython.display import display

    result = check(namespace, name, extra)
    display({MIME: result, "text/plain": f"{result['exercise']}: {result['status']}"}, raw=True)
