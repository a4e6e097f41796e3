"""One checker per exercise. Each returns a :class:`Result` that the notebook shows.

Use them in the cell right after an exercise, e.g. ``check_reparameterize(reparameterize)``.
The grader finds every exercise in :data:`EXERCISES` and runs it on a student's namespace.
"""

from .core import EXERCISES, Exercise, Hint, Result, checker  # noqa: F401


def exercises_for(notebook: str) -> list[Exercise]:
    """The exercises of one notebook (e.g. "03_reparameterization"), in the order registered."""
    return [e for e in EXERCISES.values() if e.notebook == notebook]

# Importing the modules registers their exercises in EXERCISES.
from . import autoencoder, kl, latent, reparameterization, sampling  # noqa: E402,F401
