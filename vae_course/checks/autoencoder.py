"""Checkers for the exercises of notebook 01_autoencoder."""

from .core import Hint, call, checker, close, expect_tensor  # noqa: F401

NOTEBOOK = "01_autoencoder"
