"""The objects that answer an exercise, found in this process, for reading a submission.

What counts as an exercise's answer is said once, in :mod:`vae_course.checks.answers`:
whatever in the student's library has the name the student defines, and the extras in
``ANSWERS``. :func:`references` turns that into the objects (functions, classes,
methods) and names that :mod:`vae_course.tools.copying` looks for in a submission's code,
where the checkers' own code in ``vae_course.checks`` always counts too.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from ..checks.answers import ANSWERS, CHECKS, PACKAGE
from ..checks.core import Exercise

__all__ = ["ANSWERS", "CHECKS", "library_modules", "lookup", "references"]


def lookup(path: str):
    """The object a dotted path names in this process, importing only the course's own
    modules; None when it names nothing."""
    parts = path.split(".")
    if parts[0] != PACKAGE:
        return None
    obj = importlib.import_module(PACKAGE)
    for i, part in enumerate(parts[1:], start=2):
        if hasattr(obj, part):
            obj = getattr(obj, part)
        elif inspect.ismodule(obj) and hasattr(obj, "__path__"):
            try:
                obj = importlib.import_module(".".join(parts[:i]))
            except Exception:  # no such module
                return None
        else:
            return None
    return obj


def library_modules() -> list[str]:
    """The student's library: the top-level modules of the package, and the explorers."""
    package = importlib.import_module(PACKAGE)
    return [f"{PACKAGE}.{m.name}" for m in pkgutil.iter_modules(package.__path__)
            if not m.ispkg and not m.name.startswith("_")] + [f"{PACKAGE}.interactive.explorers"]


def references(exercise: Exercise) -> tuple[dict[int, str], set[str]]:
    """({id of a reference object: its dotted name}, names whose use counts as copying)."""
    paths = [p for p in ANSWERS.get(exercise.name, ()) if not p.endswith("()")]
    for module in library_modules():
        mod = importlib.import_module(module)
        for name in exercise.needs:
            if inspect.isfunction(getattr(mod, name, None)):
                paths.append(f"{module}.{name}")
            for cls_name, cls in vars(mod).items():  # methods, e.g. VAE.reparameterize
                if inspect.isclass(cls) and cls.__module__ == module and name in vars(cls):
                    paths.append(f"{module}.{cls_name}.{name}")
    objects = {id(lookup(p)): p for p in paths if lookup(p) is not None}
    return objects, {p.rsplit(".", 1)[1] for p in paths} | set(exercise.needs)
