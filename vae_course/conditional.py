"""A conditional VAE: the encoder q(z | x, y) and the decoder p(x | z, y) both see the label.

The label ``y`` (an integer class) enters each network as a one-hot vector placed beside
the network's usual input: the encoder reads ``[x, one_hot(y)]`` (B, 784 + 10) and the
decoder reads ``[z, one_hot(y)]`` (B, latent_dim + 10). Because the decoder is told the
class, the latent code no longer has to carry it. Averaged over the data, the KL term is
the information ``z`` carries about ``x`` beyond the label plus the divergence of each
label's codes from the prior (Hoffman & Johnson, "ELBO surgery", NIPS 2016 workshop on
approximate Bayesian inference): a code that also said which digit it shows would pay
for what the label already gives. What ``z`` mostly keeps is the *style*; :func:`slant`
measures the part of it that carries over most clearly.

The model, with the prior p(z) = N(0, I) independent of the label, the decoder
p(x | z, y) and the encoder q(z | x, y), is the labelled-data case of model M2 of Kingma,
Rezende, Mohamed & Welling, "Semi-supervised Learning with Deep Generative Models"
(NeurIPS 2014), whose figures show the same style-and-label pictures (there the encoder's
variance depends on x alone). Sohn, Lee & Yan, "Learning Structured Output Representation
using Deep Conditional Generative Models" (NeurIPS 2015), who named the conditional VAE,
condition on an input with a learned prior p(z | x) instead.

The public shape follows :class:`vae_course.models.VAE`: ``encode(x, y) -> (mu, logvar)``,
``reparameterize``, ``decode(z, y)`` (logits) and ``forward(x, y)``. Each network checks
the width of what it is given and says how to fix a wrong one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .data import IMAGE_PIXELS, IMAGE_SIDE
from .losses import LossParts, vae_loss
from .models import flat_input, mlp


@dataclass(frozen=True)
class CVAEConfig:
    """Sizes of an MLP conditional VAE.

    ``hidden`` lists the encoder's hidden widths from the input side; the decoder uses
    them in reverse. ``n_classes`` is the width of the one-hot label.
    """

    input_dim: int = IMAGE_PIXELS
    hidden: tuple[int, ...] = (256, 128)
    latent_dim: int = 2
    n_classes: int = 10

    def __post_init__(self):
        if min(self.input_dim, self.latent_dim, self.n_classes, *self.hidden) < 1:
            raise ValueError(f"all sizes must be positive, got {self}")
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))

    def as_dict(self) -> dict:
        return asdict(self)


def one_hot(y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Integer labels (B,) -> float one-hot rows (B, n_classes)."""
    y = torch.as_tensor(y)
    if y.dtype.is_floating_point or y.dim() != 1:
        raise ValueError(f"labels must be a 1-D integer tensor (B,), got {y.dtype} of shape "
                         f"{tuple(y.shape)}")
    # Checked on the CPU only: on a GPU reading the labels back would stall every batch.
    if len(y) and y.device.type == "cpu" and (int(y.min()) < 0 or int(y.max()) >= n_classes):
        raise ValueError(f"labels must lie in 0..{n_classes - 1}, got {int(y.min())}..{int(y.max())}")
    return F.one_hot(y, n_classes).float()


def condition(v: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Put the one-hot label beside each row of ``v``: (B, D) and (B,) -> (B, D + n_classes)."""
    return torch.cat([v, one_hot(y, n_classes).to(v.device)], dim=1)


class LabelledInput(nn.Module):
    """Checks that a network gets its usual input and the one-hot label side by side.

    It has no parameters; it stands first in the encoder and the decoder so that a
    wrongly built input fails with a message that says what is off, instead of a bare
    matrix-size error.
    """

    def __init__(self, network: str, part: str, width: int, n_classes: int):
        super().__init__()
        self.network, self.part, self.width, self.n_classes = network, part, width, n_classes

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        expected = self.width + self.n_classes
        if inp.dim() == 2 and inp.shape[1] == expected:
            return inp
        got = tuple(inp.shape)
        start = (f"the {self.network} got an input of shape {got}; it expects (B, {expected}): "
                 f"{self.part} ({self.width} columns) and the one-hot label "
                 f"({self.n_classes} columns) side by side")
        if inp.dim() != 2:
            raise ValueError(f"{start}. Join them into one 2-D tensor, one row per example.")
        extra = inp.shape[1] - self.width
        if extra == 0:
            why = f"only {self.part}: the label is missing from the {self.network}'s input"
        elif extra == 1:
            why = ("one column for the label: the label went in as a plain number; turn it "
                   f"into a one-hot vector of {self.n_classes} classes first")
        elif extra > 0:
            why = (f"the label part has {extra} columns instead of {self.n_classes}: give the "
                   f"one-hot vector the number of classes explicitly")
        else:
            why = "fewer columns than the input alone has"
        raise ValueError(f"{start}. Its columns look like {why}.")

    def extra_repr(self) -> str:
        return f"{self.network}: {self.part} ({self.width}) + label ({self.n_classes})"


class CVAE(nn.Module):
    """A conditional VAE with q(z|x,y) = N(mu, diag(exp(logvar))) and p(z|y) = N(0, I)."""

    def __init__(self, config: CVAEConfig | None = None, **sizes):
        super().__init__()
        self.config = config or CVAEConfig(**sizes)
        c = self.config
        *body, last = [c.input_dim + c.n_classes, *c.hidden]
        trunk = [mlp([*body, last]), nn.ReLU()] if body else []
        # The trunk reads [x, one_hot(y)] (B, input_dim + n_classes) and ends in a ReLU;
        # two heads give the parameters of q(z | x, y).
        self.encoder = nn.Sequential(LabelledInput("encoder", "the image", c.input_dim,
                                                   c.n_classes), *trunk)
        self.to_mu = nn.Linear(last, c.latent_dim)
        self.to_logvar = nn.Linear(last, c.latent_dim)
        # The decoder reads [z, one_hot(y)] (B, latent_dim + n_classes) -> logits (B, 784).
        self.decoder = nn.Sequential(
            LabelledInput("decoder", "z", c.latent_dim, c.n_classes),
            mlp([c.latent_dim + c.n_classes, *reversed(c.hidden), c.input_dim]))

    def one_hot(self, y: torch.Tensor) -> torch.Tensor:
        """Labels (B,) -> one-hot (B, n_classes) on the model's device."""
        return one_hot(y, self.config.n_classes).to(self.to_mu.weight.device)

    def encode(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 784) images and (B,) labels -> (mu, logvar), each (B, latent_dim)."""
        h = self.encoder(torch.cat([flat_input(x, self.config.input_dim), self.one_hot(y)], dim=1))
        return self.to_mu(h), self.to_logvar(h)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """z = mu + std * eps with eps ~ N(0, I); it always samples (use mu for a fixed code)."""
        std = torch.exp(0.5 * logvar)  # (B, latent_dim)
        return mu + std * torch.randn_like(std)

    def decode(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) codes and (B,) labels -> logits (B, 784)."""
        return self.decoder(torch.cat([z, self.one_hot(y)], dim=1))

    def forward(self, x: torch.Tensor, y: torch.Tensor):
        """Return (logits, mu, logvar) for images x (B, 784) with labels y (B,)."""
        mu, logvar = self.encode(x, y)
        z = self.reparameterize(mu, logvar)
        return self.decode(z, y), mu, logvar


def cvae_loss(model: CVAE, x: torch.Tensor, y: torch.Tensor, beta: float = 1.0) -> LossParts:
    """The negative conditional ELBO, -E_q[log p(x|z,y)] + beta * KL(q(z|x,y) || N(0, I)).

    Reduction as in :func:`vae_course.losses.vae_loss`: sum over pixels and latent
    dimensions, mean over the batch (nats per image). It has the signature that
    :func:`vae_course.train.fit` takes as ``loss_fn``.
    """
    logits, mu, logvar = model(x, y)
    return vae_loss(logits, x, mu, logvar, beta)


@torch.no_grad()
def generate(model: CVAE, z: torch.Tensor, y) -> torch.Tensor:
    """Decode codes z (N, latent_dim) with labels y (N,) or one label for all: pixel
    probabilities (N, 784) on the CPU."""
    device = model.to_mu.weight.device
    y = torch.as_tensor(y)
    y = y.expand(len(z)) if y.dim() == 0 else y
    return torch.sigmoid(model.decode(z.to(device), y.to(device))).cpu()


@torch.no_grad()
def encode_mean(model: CVAE, x: torch.Tensor, y: torch.Tensor,
                batch_size: int = 2000) -> torch.Tensor:
    """The codes mu of images x (N, 784) with their labels y (N,): (N, latent_dim) on the CPU."""
    device = model.to_mu.weight.device
    return torch.cat([model.encode(xb.to(device), yb.to(device))[0].cpu()
                      for xb, yb in zip(x.split(batch_size), y.split(batch_size))])


@torch.no_grad()
def swap_labels(model: CVAE, x: torch.Tensor, y: torch.Tensor, labels) -> torch.Tensor:
    """Style transfer: encode each image x (N, 784) with its label y (N,) to mu, then
    decode that code under every label in ``labels``.

    Returns:
        pixel probabilities (N, len(labels), 784) on the CPU.
    """
    mu = encode_mean(model, x, y)  # (N, latent_dim)
    labels = torch.as_tensor(list(labels))
    rows = [generate(model, mu, torch.full((len(mu),), int(k))) for k in labels]
    return torch.stack(rows, dim=1)


def slant(x: torch.Tensor) -> torch.Tensor:
    """How far each image leans: (N,), 0 for an upright digit, positive when it leans right.

    The shift of the ink to the right per pixel row going up, from the image's second
    moments with the pixel values as weights: -cov(column, row) / var(row), rows counted
    downwards (the shear that deskewing by moments removes). Images (N, 784) or
    (N, 28, 28) in [0, 1]; the result is on the images' device, float64.
    """
    img = x.reshape(len(x), IMAGE_SIDE, IMAGE_SIDE).double()  # (N, 28, 28)
    pos = torch.arange(IMAGE_SIDE, dtype=torch.float64, device=img.device)
    ink = img.sum(dim=(1, 2)).clamp_min(1e-12)  # (N,)
    rows = (img.sum(dim=2) * pos).sum(dim=1) / ink  # (N,) the ink's centre: its row
    cols = (img.sum(dim=1) * pos).sum(dim=1) / ink  # (N,) and its column
    dr = pos[None, :, None] - rows[:, None, None]  # (N, 28, 1)
    dc = pos[None, None, :] - cols[:, None, None]  # (N, 1, 28)
    cov = (img * dr * dc).sum(dim=(1, 2)) / ink
    var = (img * dr ** 2).sum(dim=(1, 2)) / ink
    return -cov / var.clamp_min(1e-12)
