"""The shape of a checker's test data: its reference, wrong answers with hints, other styles.

Each ``tests/library/checks/test_<module>.py`` defines ``CASES = {exercise: Cases(...)}``
for the exercises of ``vae_course/checks/<module>.py``; ``test_contract.py`` runs the
contract that every checker shares over all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


COPIED = "copied: your function runs the course's own"  # the hint of an answer that calls it


@dataclass(frozen=True)
class Wrong:
    """A wrong answer: the hint its result must contain, and what the message must not say.

    Args:
        fn: the wrong implementation.
        hint: text that the result's message contains.
        statuses: the statuses allowed ("error" for a wrong answer that crashes).
        absent: text that the message must not contain (another slip's hint).
    """

    fn: Callable
    hint: str
    statuses: tuple[str, ...] = ("failed",)
    absent: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cases:
    """One exercise's test data.

    Args:
        reference: the model answer, written in the test independently where possible.
        wrong: name -> ``Wrong`` or ``(fn, hint)``; each must fail with its own hint.
        styles: name -> a correct answer in another style (loops, float64, torch.distributions,
            in place on a fresh tensor, ...); each must pass.
        leaks: text that no hint may contain, because it would give the answer away.
    """

    reference: Callable
    wrong: dict[str, Wrong | tuple]
    styles: dict[str, Callable]
    leaks: tuple[str, ...] = ()

    def wrongs(self) -> dict[str, Wrong]:
        """The wrong answers, each as a :class:`Wrong`."""
        return {name: entry if isinstance(entry, Wrong) else Wrong(*entry)
                for name, entry in self.wrong.items()}


def fails_with(result, hint: str, statuses: tuple[str, ...] = ("failed",)):
    """Assert that ``result`` is one of ``statuses`` and its message contains ``hint``."""
    assert result.status in statuses, result
    assert hint in result.message, result.message
    return result


def no_grad(fn: Callable) -> Callable:
    """``fn`` run under ``torch.no_grad()``: a classic way to lose the gradient."""
    def wrapped(*args, **kwargs):
        with torch.no_grad():
            return fn(*args, **kwargs)
    return wrapped
