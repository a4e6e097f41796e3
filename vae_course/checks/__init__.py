"""One checker per exercise. Each returns a :class:`Result` that the notebook shows.

Use them in the cell right after an exercise, e.g. ``check_reparameterize(reparameterize)``.
The grader finds every exercise in :data:`EXERCISES` and runs it on a student's namespace.
Every module of this package is imported here, so a new module of checkers registers
its exercises without an edit to this file.
"""

import importlib
import pkgutil

from .core import EXERCISES, Exercise, Hint, Result, Status, checker  # noqa: F401
from .results import Summary


def exercises_for(notebook: str) -> list[Exercise]:
    """The exercises of one notebook (e.g. "03_reparameterization"), in the order registered."""
    return [e for e in EXERCISES.values() if e.notebook == notebook]


def before_you_hand_in(notebook: str, namespace: dict) -> Summary:
    """Check every exercise of ``notebook`` on ``namespace`` (pass ``globals()``) again and
    show them in one table: what the grader's checks say of the functions in this kernel.

    The grader runs the notebook top to bottom on a fresh kernel: ``vae-course check
    NOTEBOOK.ipynb`` does exactly that before you hand it in.
    """
    results = []
    for exercise in exercises_for(notebook):
        missing = [n for n in exercise.needs if n not in namespace]
        results.append(Result(exercise.name, Status.NOT_ATTEMPTED,
                              f"`{'`, `'.join(missing)}` is not defined: run the exercise cell.")
                       if missing else exercise.run(*(namespace[n] for n in exercise.needs)))
    return Summary(notebook, results)


# Importing the modules registers their exercises in EXERCISES (in name order, so that
# the order of a notebook's exercises is the order of their checkers in its module).
MACHINERY = {"answers", "core", "plain", "recording", "results"}  # the modules that register no exercise
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
    if _info.name not in MACHINERY:
        importlib.import_module(f"{__name__}.{_info.name}")
del _info
