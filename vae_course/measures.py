"""Measures of what a model has learned, beyond its test loss.

How good a latent space is for generation (notebooks 02 and 05, for the autoencoder
and the VAE):

* **confident share**: the share of decoded samples that a small digit classifier
  (:func:`vae_course.zoo.load` ``("classifier")``) recognises with high confidence;
* **distance to the data**: how far latent samples fall from the nearest encoded
  training point, relative to the typical spacing between encoded points.

How sharp images are (notebooks 05 and 06): :func:`sharpness`, the mean absolute
difference between neighbouring pixels.

What an autoencoder has learned (notebooks 01 and 03):

* **has it learned what digits look like, or only to copy?** :func:`non_digits` makes
  images that are not digits (strokes, blobs, inverted digits, noise), inside the
  central 20 x 20 pixels where MNIST's ink lies; :func:`pixel_error` measures how well
  a model reconstructs them. A model that copies reconstructs them about as well as
  digits.
* **is its decoder right only at the codes it was trained on?** :func:`off_code_error`
  moves each code a given distance in a random direction and measures the
  reconstruction error of the decoded image against the original.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import data as data_mod
from .models import device_of


@torch.no_grad()
def confidence(classifier: torch.nn.Module, x: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
    """The classifier's top softmax probability for each image in ``x`` (N, 784) in [0, 1]: (N,)."""
    device = device_of(classifier)
    out = [F.softmax(classifier(x[i:i + batch_size].to(device)), dim=1).amax(dim=1).cpu()
           for i in range(0, len(x), batch_size)]
    return torch.cat(out)


@torch.no_grad()
def predict(classifier: torch.nn.Module, x: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
    """The class the classifier picks for each image in ``x`` (N, 784): (N,) int64 on the CPU."""
    device = device_of(classifier)
    return torch.cat([classifier(x[i:i + batch_size].to(device)).argmax(dim=1).cpu()
                      for i in range(0, len(x), batch_size)])


def confident_share(classifier: torch.nn.Module, x: torch.Tensor, threshold: float = 0.9) -> float:
    """Share of images in ``x`` that the classifier puts in one class with probability >= threshold."""
    return (confidence(classifier, x) >= threshold).float().mean().item()


def nearest_distances(points: torch.Tensor, reference: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    """Euclidean distance from each row of ``points`` (N, d) to its nearest row of ``reference`` (M, d)."""
    if points.shape[1] != reference.shape[1]:
        raise ValueError(f"points have {points.shape[1]} dimensions but reference has "
                         f"{reference.shape[1]}")
    return torch.cat([torch.cdist(points[i:i + chunk], reference).amin(dim=1)
                      for i in range(0, len(points), chunk)])


def typical_spacing(codes: torch.Tensor, n: int = 2000, seed: int = 0) -> float:
    """Median distance from an encoded point to its nearest *other* encoded point.

    Estimated on ``n`` codes drawn at random (with a fixed seed) against all the others.
    """
    g = torch.Generator().manual_seed(seed)
    pick = torch.randperm(len(codes), generator=g)[:n]
    d = torch.cdist(codes[pick], codes)  # (n, M)
    d[torch.arange(len(pick)), pick] = float("inf")  # not the point itself
    return d.amin(dim=1).median().item()


def distance_ratio(samples: torch.Tensor, codes: torch.Tensor, seed: int = 0) -> float:
    """Median distance from a latent sample to the nearest code, over the typical spacing.

    About 1 means samples land where the data is; much more than 1 means they fall
    in empty regions of the latent space.
    """
    return nearest_distances(samples, codes).median().item() / typical_spacing(codes, seed=seed)


def sharpness(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between neighbouring pixels, per image: (N,); higher is sharper.

    Averages the differences between horizontal and between vertical neighbours of each
    28 x 28 image in ``x`` (N, 784) or (N, 1, 28, 28). A blurred image scores lower than
    the original; so does a blank one, and speckled noise scores high: compare images of
    the same kind (reconstructions, not prior samples that may be noise).
    """
    side = data_mod.IMAGE_SIDE
    img = x.detach().float().cpu().reshape(-1, side, side)  # (N, 28, 28)
    down = (img[:, 1:] - img[:, :-1]).abs().mean(dim=(1, 2))
    across = (img[:, :, 1:] - img[:, :, :-1]).abs().mean(dim=(1, 2))
    return (down + across) / 2


# ---- what an autoencoder learned (notebooks 01 and 03)

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
