"""Checkers for the exercises of notebook 04_kl_regularization.

Both checkers run the student's function on fixed inputs, compare it with the
reference in :mod:`vae_course.losses`, and when it is off, compare it with the
classic wrong versions (wrong sign, missing 1/2, wrong reduction, ...) to say which
slip it looks like.
"""

from __future__ import annotations

import itertools

import torch

from .. import losses
from .core import Hint, call, call_traced, checker, close, describe, expect_tensor

NOTEBOOK = "04_kl_regularization"


def _kl_inputs(batch: int, dims: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(batch, dims, generator=g)  # (B, D)
    logvar = torch.randn(batch, dims, generator=g) * 0.8 - 0.3  # (B, D), mixed signs
    return mu, logvar


def _kl_slips(mu: torch.Tensor, logvar: torch.Tensor) -> list[tuple[torch.Tensor, str]]:
    """Values the classic mistakes give on (mu, logvar), each with its hint."""
    batch, dims = mu.shape
    per_dim = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())  # (B, D)
    ref = per_dim.sum(dim=1).mean()
    return [
        (-ref, "your KL has the opposite sign: a KL divergence is never negative. Check the "
               "sign in front of the sum."),
        (2 * ref, "your KL is twice too large: the factor 1/2 in front of the sum is missing."),
        (ref / 2, "your KL is half what it should be: the factor 1/2 is applied twice."),
        (ref * batch, "your KL is summed over the batch: average over the batch (dim 0) and "
                      "sum over the latent dimensions (dim 1)."),
        (ref / dims, "your KL is averaged over the latent dimensions: the KL of a diagonal "
                     "Gaussian is the *sum* of the KLs of its dimensions (then average over "
                     "the batch)."),
        ((-0.5 * (1 + logvar - mu.pow(2) - logvar)).sum(dim=1).mean(),
         "your KL uses logvar where the variance belongs: the variance is exp(logvar)."),
        ((-0.5 * (1 + logvar - mu.pow(2) - (0.5 * logvar).exp())).sum(dim=1).mean(),
         "your KL uses the standard deviation where the variance belongs: the variance is "
         "exp(logvar)."),
        ((-0.5 * (1 + logvar - logvar.exp())).sum(dim=1).mean(),
         "your KL does not depend on mu: the mu^2 term is missing."),
        ((-0.5 * (logvar - mu.pow(2) - logvar.exp())).sum(dim=1).mean(),
         "your KL is off by a constant: it should be 0 when mu = 0 and logvar = 0. Check the "
         "'1 +' term."),
    ]


def _kl_shape_hint(shape: tuple[int, ...], batch: int, dims: int) -> str:
    if shape == (batch,):
        return (f"your KL has shape {shape}, one value per sample: average over the batch "
                f"so that it returns a single number (shape ()).")
    if shape == (batch, dims):
        return (f"your KL has shape {shape}, one value per sample and latent dimension: sum "
                f"over the latent dimensions (dim 1), then average over the batch.")
    if shape == (dims,):
        return (f"your KL has shape {shape}, one value per latent dimension: sum over the "
                f"latent dimensions too, so that it returns a single number.")
    return f"your KL has shape {shape}; it should be a single number (shape ())."


@checker("gaussian_kl", NOTEBOOK, needs=("gaussian_kl",),
         success="your KL matches the closed form on every test (and so torch.distributions).")
def check_gaussian_kl(gaussian_kl) -> None:
    zero = torch.zeros(4, 3)
    for batch, dims, seed in ((6, 4, 0), (3, 5, 1)):
        mu, logvar = _kl_inputs(batch, dims, seed)
        kl = call(gaussian_kl, mu, logvar)
        if isinstance(kl, torch.Tensor) and kl.is_floating_point() and bool(kl.isnan().any()):
            raise Hint("your KL is NaN: logvar can be negative, so do not take its log or "
                       "square root; the variance is exp(logvar).")
        if isinstance(kl, torch.Tensor) and kl.dim() > 0 and kl.numel() > 1:
            raise Hint(_kl_shape_hint(tuple(kl.shape), batch, dims))
        kl = expect_tensor(kl, "your KL").reshape(())
        if close(kl, losses.gaussian_kl(mu, logvar)):
            continue
        for value, hint in _kl_slips(mu, logvar):
            if close(kl, value):
                raise Hint(hint)
        at_prior = expect_tensor(call(gaussian_kl, zero, zero), "your KL").reshape(())
        if not close(at_prior, torch.zeros(())):
            raise Hint(f"your KL is {at_prior.item():.3g}, not 0, when q equals the prior "
                       f"(mu = 0, logvar = 0): a constant term is off.")
        raise Hint("your KL does not match the closed form -1/2 sum_j (1 + logvar_j - mu_j^2 "
                   "- exp(logvar_j)), averaged over the batch; compare it term by term.")


def _loss_inputs():
    g = torch.Generator().manual_seed(0)
    batch, pixels, dims = 5, 784, 3
    logits = (torch.randn(batch, pixels, generator=g) * 2).requires_grad_(True)  # (B, 784)
    x = (torch.rand(batch, pixels, generator=g) > 0.7).float()  # (B, 784), binary images
    mu = torch.randn(batch, dims, generator=g).requires_grad_(True)  # (B, D)
    logvar = (torch.randn(batch, dims, generator=g) * 0.5).requires_grad_(True)  # (B, D)
    return logits, x, mu, logvar


def _recon_slips(logits, x) -> list[tuple[torch.Tensor, str]]:
    ref = losses.reconstruction_loss(logits, x)
    batch, pixels = x.shape
    return [
        (ref / pixels, f"recon is {pixels} times too small: it is averaged over the pixels. "
                       f"Sum over the pixels (each image's loss in nats), average over the batch."),
        (ref * batch, "recon is summed over the batch: average over the batch instead."),
        (-ref, "recon is negative: it is the *negative* log-likelihood (binary cross-entropy), "
               "a positive number."),
        (losses.reconstruction_loss(torch.sigmoid(logits), x),
         "recon looks like the sigmoid was applied to the logits before a loss that expects "
         "logits: pass the logits themselves to binary_cross_entropy_with_logits."),
    ]


@checker("vae_loss", NOTEBOOK, needs=("vae_loss",),
         success="loss, recon and kl all match, reductions and beta included.")
def check_vae_loss(vae_loss) -> None:
    logits, x, mu, logvar = _loss_inputs()
    beta = 2.5
    run = call_traced(vae_loss, logits, x, mu, logvar, beta, backward=lambda out: out[0])
    out = run.out
    if out is None:
        raise Hint("vae_loss returned None: return LossParts(loss, recon, kl).")
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        what = (f"{len(out)} values" if isinstance(out, (tuple, list))
                else f"a single {describe(out)}")
        raise Hint(f"vae_loss should return three values, LossParts(loss, recon, kl); it "
                   f"returned {what}.")
    if isinstance(out, list):
        raise Hint("vae_loss returned a Python list: the exercise asks for the three parts "
                   "as LossParts(loss, recon, kl), the named tuple from vae_course.losses (a "
                   "plain tuple in this order works too). Return LossParts(...) instead of [...].")
    loss, recon, kl = (expect_tensor(v, name) for v, name in zip(out, ("loss", "recon", "kl")))
    for name, value in (("loss", loss), ("recon", recon), ("kl", kl)):
        if value.numel() != 1:
            raise Hint(f"{name} has shape {tuple(value.shape)}: each part should be a single "
                       f"number, averaged over the batch.")
    ref = losses.vae_loss(logits, x, mu, logvar, beta)
    for position, part, want in ((1, "recon", ref.recon), (2, "kl", ref.kl)):
        if (0, position) in run.aliased and not close(got_part := out[position], want) \
                and close(got_part, ref.loss):
            raise Hint(f"loss and {part} are one and the same tensor: an in-place update "
                       f"(`+=`) of loss also changed {part}. Compute loss as a new tensor "
                       f"(the out-of-place form), so that {part} keeps its own value.")
    if close(loss, recon) and not close(ref.loss, ref.recon):
        raise Hint("loss equals recon: the KL term is missing from the loss.")
    got, want = (loss, recon, kl), tuple(ref)
    for order in itertools.permutations(range(3)):
        if order != (0, 1, 2) and all(close(got[i], want[j]) for i, j in enumerate(order)):
            raise Hint("your three values are right but swapped: return "
                       "LossParts(loss, recon, kl) in this order.")
    if not close(recon, ref.recon):
        for value, hint in _recon_slips(logits.detach(), x):
            if close(recon, value):
                raise Hint(hint)
        raise Hint("recon does not match the Bernoulli cross-entropy (BCE) on the logits, "
                   "summed over pixels, averaged over the batch.")
    if close(kl, beta * ref.kl):
        raise Hint("kl already includes beta: return the unweighted KL as kl, and weight it "
                   "only inside loss.")
    if not close(kl, ref.kl):
        raise Hint("kl does not match the closed-form KL (summed over latent dimensions, "
                   "averaged over the batch): use losses.gaussian_kl.")
    if close(loss, ref.recon + ref.kl):
        raise Hint(f"loss = recon + kl: beta (here {beta}) is ignored. It should weight the KL.")
    if close(loss, beta * ref.recon + ref.kl):
        raise Hint("beta multiplies the reconstruction term; it should weight the KL term.")
    if not close(loss, ref.loss):
        raise Hint("loss does not equal recon + beta * kl.")
    if not loss.requires_grad:
        raise Hint("loss carries no gradient: compute it with torch operations, without "
                   ".item(), .detach() or torch.no_grad().")
    # The recorded call back-propagated loss to (its copies of) logits, mu and logvar.
    for name, position in (("logits", 0), ("mu", 2), ("logvar", 3)):
        if run.grads.get(position) is None:
            raise Hint(f"no gradient reaches {name}: keep every part of the loss connected "
                       f"to the inputs.")
