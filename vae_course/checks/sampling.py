"""Checkers for the exercises of notebook 05_sampling_and_interpolation."""

from .core import Hint, call, checker, close, expect_tensor  # noqa: F401

NOTEBOOK = "05_sampling_and_interpolation"
