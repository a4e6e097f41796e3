"""The notebooks' claims: sentences of the prose that a run of the notebook must not contradict.

A notebook states a finding in words only where a cell checks it on the numbers the run
produced::

    claim("the VAE's samples are read as digits more often than the autoencoder's",
          share["VAE"] > share["autoencoder"], f"{share}")

prints ``the VAE's samples ...: True`` (the line nbval compares) and, on a machine or a
version where the finding no longer holds, stops the notebook there with an error that
names the sentence and the numbers, instead of leaving prose that the outputs contradict.
"""

from __future__ import annotations


def claim(statement: str, holds, numbers: str = "") -> None:
    """Print ``statement: True``; raise AssertionError naming it when ``holds`` is false.

    Args:
        statement: the claim, as the text words it.
        holds: the check (anything with a truth value: a bool, a one-element tensor).
        numbers: the measured values, shown only when the claim fails.
    """
    holds = bool(holds)
    if not holds:
        raise AssertionError(f"this run contradicts the notebook's text: it is no longer true "
                             f"that {statement}" + (f" ({numbers})" if numbers else ""))
    print(f"{statement}: {holds}")
