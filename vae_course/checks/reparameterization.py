"""Checkers for the exercises of notebook 03_reparameterization."""

from .core import Hint, call, checker, close, expect_tensor  # noqa: F401

NOTEBOOK = "03_reparameterization"
