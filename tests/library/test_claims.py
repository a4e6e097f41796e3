"""The notebooks' claims (vae_course/claims.py)."""

import pytest
import torch

from vae_course.claims import claim


def test_a_claim_that_holds_prints_its_statement(capsys):
    claim("two is more than one", 2 > 1)
    claim("a tensor can hold a claim", torch.tensor(3.0) > 2)
    assert capsys.readouterr().out == "two is more than one: True\na tensor can hold a claim: True\n"


def test_a_claim_that_fails_names_the_sentence_and_the_numbers(capsys):
    with pytest.raises(AssertionError, match=r"no longer true that one is more than two \(1 vs 2\)"):
        claim("one is more than two", 1 > 2, "1 vs 2")
    assert capsys.readouterr().out == ""
