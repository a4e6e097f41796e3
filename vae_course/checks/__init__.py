"""One checker per exercise. Each returns a :class:`Result` that the notebook shows.

Use them in the cell right after an exercise, e.g. ``check_reparameterize(reparameterize)``.
The grader finds every exercise in :data:`EXERCISES` and runs it on a student's namespace.
Every module of this package is imported here, so a new module of checkers registers
its exercises without an edit to this file.
"""

import importlib
import pkgutil

from .core import EXERCISES, Exercise, Hint, Result, Status, checker  # noqa: F401


def exercises_for(notebook: str) -> list[Exercise]:
    """The exercises of one notebook (e.g. "03_reparameterization"), in the order registered."""
    return [e for e in EXERCISES.values() if e.notebook == notebook]


# Importing the modules registers their exercises in EXERCISES (in name order, so that
# the order of a notebook's exercises is the order of their checkers in its module).
MACHINERY = {"answers", "core", "plain", "recording", "results"}  # the modules that register no exercise
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
    if _info.name not in MACHINERY:
        importlib.import_module(f"{__name__}.{_info.name}")
del _info
