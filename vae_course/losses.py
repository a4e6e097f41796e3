"""Losses of the autoencoder and the VAE, as small pure functions.

Reductions, everywhere in the course: **sum** over pixels and over latent
dimensions (so each image's loss is in nats), **mean** over the batch (so the
figure does not depend on the batch size). Test losses are reported in nats per
image. The VAE loss is the negative ELBO of Kingma & Welling, "Auto-Encoding
Variational Bayes" (2014), eq. 10, with a weight ``beta`` on the KL term
(Higgins et al., 2017).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F


class LossParts(NamedTuple):
    """A loss and its parts, each a scalar tensor averaged over the batch."""

    loss: torch.Tensor
    recon: torch.Tensor
    kl: torch.Tensor


def reconstruction_loss(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Bernoulli cross-entropy (BCE) of the images under the decoder's logits.

    recon = -sum_i [x_i log sigmoid(l_i) + (1 - x_i) log(1 - sigmoid(l_i))]

    For binary images this is -log p(x | z) under independent Bernoulli pixels. For grey
    levels, as in MNIST, it is a cross-entropy, not the log-likelihood of a density on
    [0, 1]^784 (each pixel's factor integrates to at most 1/2; the continuous Bernoulli
    of Loaiza-Ganem & Cunningham, NeurIPS 2019, adds the missing normaliser).

    Reduction: summed over the 784 pixels, averaged over the batch.

    Args:
        logits (Tensor): decoder output, (B, 784).
        x (Tensor): target images in [0, 1], (B, 784) or (B, 1, 28, 28).
    """
    x = x.reshape(logits.shape)
    per_image = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1)  # (B,)
    return per_image.mean()


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Closed-form KL( N(mu, diag(exp(logvar))) || N(0, I) ).

    kl = -1/2 * sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j))

    Reduction: summed over latent dimensions, averaged over the batch. It is zero
    exactly when mu = 0 and logvar = 0, and positive otherwise.

    Args:
        mu, logvar (Tensor): encoder outputs, (B, latent_dim).
    """
    per_dim = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())  # (B, latent_dim)
    return per_dim.sum(dim=1).mean()


def kl_per_dimension(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The closed-form KL of each latent dimension, averaged over the batch: (latent_dim,).

    A dimension whose KL is near zero carries no information about x (it has
    collapsed onto the prior).
    """
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).mean(dim=0)


def monte_carlo_kl(mu: torch.Tensor, logvar: torch.Tensor, n_samples: int = 1000,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Monte-Carlo estimate of the same KL: mean over samples z ~ q of log q(z) - log p(z).

    Reduction as in :func:`gaussian_kl`. Its error shrinks like 1/sqrt(n_samples).
    """
    std = torch.exp(0.5 * logvar)
    eps = torch.randn((n_samples, *mu.shape), generator=generator,
                      dtype=mu.dtype).to(mu.device)  # (S, B, latent_dim)
    z = mu + std * eps
    log_q = -0.5 * (eps.pow(2) + logvar + torch.log(torch.tensor(2 * torch.pi)))
    log_p = -0.5 * (z.pow(2) + torch.log(torch.tensor(2 * torch.pi)))
    return (log_q - log_p).sum(dim=2).mean()


def vae_loss(logits: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
             beta: float = 1.0) -> LossParts:
    """Negative ELBO with a KL weight: loss = recon + beta * kl.

    With beta = 1, ``loss`` is the negative evidence lower bound, an upper bound on
    -log p(x) in nats per image. Reduction: sum over pixels and latent dimensions,
    mean over the batch.
    """
    recon = reconstruction_loss(logits, x)
    kl = gaussian_kl(mu, logvar)
    return LossParts(recon + beta * kl, recon, kl)


def model_loss(model: torch.nn.Module, x: torch.Tensor, beta: float = 1.0) -> LossParts:
    """The loss of a batch for either model: the VAE's negative ELBO, the autoencoder's
    reconstruction loss (with ``kl`` = 0)."""
    out = model(x)
    if isinstance(out, tuple):  # VAE: (logits, mu, logvar)
        return vae_loss(*out[:1], x, *out[1:], beta=beta)
    recon = reconstruction_loss(out, x)
    return LossParts(recon, recon, torch.zeros((), device=recon.device))


def classifier_loss(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> LossParts:
    """A classifier's cross-entropy (mean over the batch); ``recon`` repeats it, ``kl`` is zero."""
    ce = F.cross_entropy(model(x), y)
    return LossParts(ce, ce, torch.zeros((), device=ce.device))
