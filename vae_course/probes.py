"""Probes of what an autoencoder has learned, beyond its test loss.

Two questions that the test loss cannot answer (notebooks 01 and 03):

* **Has it learned what digits look like, or only to copy?** :func:`non_digits` makes
  images that are not digits (strokes, blobs, inverted digits, noise), inside the
  central 20 x 20 pixels where MNIST's ink lies; :func:`pixel_error` measures how well
  a model reconstructs them. A model that copies reconstructs them about as well as
  digits.
* **Is its decoder right only at the codes it was trained on?** :func:`off_code_error`
  moves each code a given distance in a random direction and measures the
  reconstruction error of the decoded image against the original.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import data as data_mod
from .models import device_of

INK = slice(4, 24)  # rows and columns of the central 20 x 20 pixels


def _side() -> int:
    return int(round(data_mod.IMAGE_PIXELS ** 0.5))


def non_digits(digits: torch.Tensor, seed: int = 0) -> dict[str, torch.Tensor]:
    """Images that are not digits, one per row of ``digits`` (N, 784): a dict of (N, 784).

    "strokes": a bar across and a bar down at random places; "blobs": smoothed random
    noise, thresholded; "inverted": ``1 - digit`` inside the central square; "noise":
    independent pixels, each ink with probability 0.2, inside the central square.
    """
    n, side = len(digits), _side()
    g = torch.Generator().manual_seed(seed)
    centre = torch.zeros(side, side)
    centre[INK, INK] = 1
    strokes = torch.zeros(n, side, side)
    at = torch.randint(6, 19, (n, 2), generator=g)
    for i, (row, col) in enumerate(at.tolist()):
        strokes[i, row:row + 3, 6:22] = 1
        strokes[i, 6:22, col:col + 3] = 1
    coarse = torch.rand(n, 1, 5, 5, generator=g)
    blobs = (F.interpolate(coarse, size=20, mode="bilinear") > 0.6).float()  # (N, 1, 20, 20)
    blobs = F.pad(blobs, (4, 4, 4, 4))[:, 0]
    inverted = (1 - digits.reshape(n, side, side)) * centre
    noise = torch.bernoulli(torch.full((n, side, side), 0.2), generator=g) * centre
    return {name: x.reshape(n, -1) for name, x in
            (("strokes", strokes), ("blobs", blobs), ("inverted", inverted), ("noise", noise))}


@torch.no_grad()
def pixel_error(model: torch.nn.Module, x: torch.Tensor) -> float:
    """Mean squared difference between ``sigmoid(model(x))`` and ``x`` (N, 784), per pixel."""
    x_hat = torch.sigmoid(model(x.to(device_of(model)))).cpu()
    return (x_hat - x).pow(2).mean().item()


@torch.no_grad()
def off_code_error(decode, z: torch.Tensor, x: torch.Tensor, distances, seed: int = 0
                   ) -> list[float]:
    """Reconstruction error when each code moves a given distance in a random direction.

    Args:
        decode: the decoder, codes (N, D) -> logits (N, 784) (e.g. ``model.decode``).
        z (Tensor): the codes of the images ``x``, (N, D).
        x (Tensor): the images, (N, 784) in [0, 1].
        distances: how far to move the codes, one value per point of the curve.
        seed (int): the random directions (one unit vector per code, the same for all
            distances).

    Returns:
        list of float: for each distance, the Bernoulli reconstruction loss of the
        decoded images against ``x``, summed over pixels, mean over the images (nats).
    """
    g = torch.Generator().manual_seed(seed)
    direction = torch.randn(z.shape, generator=g)
    direction = direction / direction.norm(dim=1, keepdim=True)  # (N, D), unit length
    device = device_of(decode)
    out = []
    for r in distances:
        logits = decode((z + float(r) * direction).to(device)).cpu()
        out.append(F.binary_cross_entropy_with_logits(logits, x, reduction="none")
                   .sum(dim=1).mean().item())
    return out
