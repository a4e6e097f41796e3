"""What counts as the answer of each exercise: the course's own reference implementations.

For an exercise, :func:`references` gives the objects (functions, classes, methods) of
the student's library that compute its answer: whatever there has the name the student
defines (``losses.gaussian_kl`` for ``gaussian_kl``, ``VAE.reparameterize`` for
``reparameterize``, so a new exercise is covered without an edit here), the extras in
:data:`ANSWERS`, and (always) the checkers' own code in ``vae_course.checks``. The
references of earlier exercises are not in the list: the solutions use them (``vae_loss``
calls ``losses.gaussian_kl``). Used by :mod:`vae_course.tools.copying`.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from ..checks.core import Exercise

PACKAGE = "vae_course"
CHECKS = f"{PACKAGE}.checks"
# More references that compute (part of) an exercise's answer, beyond its own name.
ANSWERS: dict[str, tuple[str, ...]] = {
    "autoencode": ("vae_course.models.Autoencoder", "vae_course.models.VAE",
                   "vae_course.models.flat_input"),
    "reconstruction_loss": ("vae_course.losses.vae_loss", "vae_course.losses.model_loss"),
    "gaussian_kl": ("vae_course.losses.kl_per_dimension", "vae_course.losses.monte_carlo_kl",
                    "vae_course.losses.vae_loss", "vae_course.losses.model_loss"),
    "vae_loss": ("vae_course.losses.model_loss",),
    "interpolate_codes": ("vae_course.interactive.explorers.interpolate",),
    "nearest_distance": ("vae_course.measures.nearest_distances",),
    "make_decoder": ("vae_course.convolutional.decoder", "vae_course.convolutional.ConvVAE"),
    "cvae_forward": ("vae_course.conditional.CVAE.forward", "vae_course.conditional.condition",
                     "model()"),
}
# An entry "name()" in ANSWERS: calling the exercise's argument ``name`` itself is the
# answer (``model(x, y)`` runs the course's own forward).


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
