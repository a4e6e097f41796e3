"""What counts as an exercise's answer: the course's own implementation of it.

An exercise is answered by the course's own code when the student's function runs a
function of the package (outside ``vae_course.checks``) that has the exercise's name
(``losses.gaussian_kl`` for ``gaussian_kl``, ``VAE.reparameterize`` for
``reparameterize``: a new exercise is covered without an edit here), or one of the
extras in :data:`ANSWERS`. The references of earlier exercises are allowed: the
solution of ``vae_loss`` calls ``losses.gaussian_kl``.

Two defences use this: each recorded call of student code watches which of the course's
functions run inside it (:class:`Watch`, so the notebook's check and the grader's replay
both say "copied"), and the grader reads the submission's code for uses that never ran
or cannot be read (``vae_course.tools.copying``).
"""

from __future__ import annotations

import sys
import threading

PACKAGE = "vae_course"
CHECKS = f"{PACKAGE}.checks"
# More references that compute (part of) an exercise's answer, beyond its own name. An
# entry "name()": calling the exercise's argument ``name`` itself is the answer
# (``model(x, y)`` runs the course's own forward).
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
    "redraw": ("vae_course.conditional.swap_labels",),
}

COPIED = ("copied: your function runs the course's own `{name}`. The check and the grader "
          "want the computation written by you: use torch functions, not the course's "
          "answer to this exercise.")


class Watch:
    """While active, notes each function of the course that answers ``exercise`` when it runs.

    A profile hook (``sys.setprofile``, and ``threading.setprofile`` for threads started
    meanwhile) sees every Python function that starts; ``seen`` lists the answers' dotted
    names, and ``tampered`` is set when the watched code replaced the hook.
    """

    def __init__(self, name: str, needs: tuple[str, ...]):
        self.names = set(needs) | {name}
        self.extras = tuple(p for p in ANSWERS.get(name, ()) if not p.endswith("()"))
        self.seen: list[str] = []
        self.tampered = False

    def _hook(self, frame, event, arg):
        if event != "call":
            return
        module = frame.f_globals.get("__name__", "")
        if not isinstance(module, str) or not module.startswith(PACKAGE + "."):
            return
        code = frame.f_code
        dotted = f"{module}.{getattr(code, 'co_qualname', code.co_name)}"
        if module.startswith(CHECKS + ".") and module != CHECKS:
            return
        if code.co_name in self.names or any(dotted == p or dotted.startswith(p + ".")
                                             for p in self.extras):
            if dotted not in self.seen and len(self.seen) < 8:
                self.seen.append(dotted)

    def __enter__(self):
        self._before = sys.getprofile(), threading.getprofile()
        sys.setprofile(self._hook)
        threading.setprofile(self._hook)
        return self

    def __exit__(self, *exc):
        self.tampered = sys.getprofile() != self._hook
        sys.setprofile(self._before[0])
        threading.setprofile(self._before[1])
        return False
