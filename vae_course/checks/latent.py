"""Checkers for the exercises of notebook 02_latent_irregularity."""

from .core import Hint, call, checker, close, expect_tensor  # noqa: F401

NOTEBOOK = "02_latent_irregularity"
