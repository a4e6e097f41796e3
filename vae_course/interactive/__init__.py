"""The interactive layer: explorers and concept questions for the notebooks.

Each widget is a thin ipywidgets layer (:mod:`.widgets`) over a pure function that
tests call without a browser (:mod:`.explorers` for the latent explorers,
:mod:`.questions` for concept questions, :mod:`.raster` for fast pictures). This part
may import the student's library (``vae_course.data``, ``models``, ``train``,
``plots``, ...) but never the instructor's tools in :mod:`vae_course.tools`.
Notebooks import what they show from here, e.g.
``from vae_course.interactive import concept_question``.
"""

from .widgets import (ConceptQuestion, Explorer, Feedback, beta_explorer,  # noqa: F401
                      concept_question, interpolation_explorer, latent_explorer,
                      reparam_sampler)

__all__ = ["ConceptQuestion", "Explorer", "Feedback", "beta_explorer", "concept_question",
           "interpolation_explorer", "latent_explorer", "reparam_sampler"]
