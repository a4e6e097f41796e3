"""Plain data across the boundary between a student's kernel and the grader
(vae_course.checks.plain)."""

from collections import namedtuple

import numpy as np
import pytest
import torch

from vae_course.checks import plain

Parts = namedtuple("Parts", "loss kl")


def test_plain_data_makes_the_trip_and_other_objects_become_handles():
    model = torch.nn.Linear(2, 1)
    value = {"t": torch.ones(2, requires_grad=True) * 2, "n": np.arange(3), "model": model,
             "parts": Parts(1.0, torch.zeros(1)),
             "nested": [1, 2.5, "a", None, (torch.Size([2, 3]), torch.float64)]}
    live = []
    back = plain.decode(plain.from_bytes(plain.to_bytes(plain.encode(value, live))))
    assert torch.equal(back["t"], torch.full((2,), 2.0))
    assert back["t"].requires_grad and back["t"].grad_fn is None  # detached, flag kept
    np.testing.assert_array_equal(back["n"], np.arange(3))
    assert back["parts"].loss == 1.0 and torch.equal(back["parts"].kl, torch.zeros(1))
    assert back["nested"] == [1, 2.5, "a", None, (torch.Size([2, 3]), torch.float64)]
    handle = back["model"]
    assert isinstance(handle, plain.Ref) and live == [model] and plain.ref_key(handle) == 0
    assert plain.describe(handle) == "Linear" and "Linear" in repr(handle)
    with pytest.raises(plain.RefUseError, match="only through call"):
        handle.weight  # noqa: B018
    with pytest.raises(TypeError, match="only through call"):
        handle(torch.ones(2))


def test_what_is_not_a_record_is_refused():
    with pytest.raises(plain.RecordError, match="unreadable record"):
        plain.from_bytes(b"not a record")
    for forged in (("zz", 1), ("t", "not a tensor", False, "cpu"), ("dtype", "torch.os")):
        with pytest.raises(plain.RecordError):
            plain.decode(forged)


def test_the_digest_tells_inputs_apart():
    x = torch.arange(4.0)
    assert plain.digest(x, {"beta": 1.0}) == plain.digest(x.clone(), {"beta": 1.0})
    assert plain.digest(x, {"beta": 1.0}) != plain.digest(x, {"beta": 2.0})
    assert plain.digest(x) != plain.digest(x.clone().requires_grad_())
