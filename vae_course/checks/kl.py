"""Checkers for the exercises of notebook 04_kl_regularization."""

from .core import Hint, call, checker, close, expect_tensor  # noqa: F401

NOTEBOOK = "04_kl_regularization"
