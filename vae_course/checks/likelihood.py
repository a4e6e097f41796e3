"""Checkers for the exercises of notebook 08_log_likelihood.

``log_importance_weights`` is compared with the reference in
:mod:`vae_course.likelihood` term by term: each classic slip (the sign of log q, a
missing term, a reduction over the wrong dimension, the closed-form KL in place of the
sampled log-densities, ...) gives its own value, which names the mistake.
``log_mean_exp`` is run on ordinary log-weights first, then on log-weights of real
magnitude (-100 to -500, and below -745, where ``exp`` underflows even in float64).
"""

from __future__ import annotations

import math

import torch

from .. import likelihood
from .core import Hint, call, checker, close, expect_tensor

NOTEBOOK = "08_log_likelihood"

_B, _K, _D, _P = 3, 5, 4, 784  # images, codes per image, latent dims, pixels (B != K on purpose)


def _weight_inputs(seed: int, binary: bool):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(_B, _P, generator=g)  # (B, 784) grey levels
    x = (x > 0.6).float() if binary else torch.where(x < 0.5, torch.zeros_like(x), x)
    logits = torch.randn(_B, _K, _P, generator=g) * 3  # (B, K, 784)
    mu = torch.randn(_B, _D, generator=g)  # (B, D)
    logvar = torch.randn(_B, _D, generator=g) * 0.5 - 1.0  # (B, D)
    z = mu[:, None] + torch.exp(0.5 * logvar)[:, None] * torch.randn(_B, _K, _D, generator=g)
    return x, logits, z, mu, logvar


def _weight_slips(x, logits, z, mu, logvar) -> list[tuple[torch.Tensor, str]]:
    """Values the classic mistakes give, each with its hint."""
    xs = x[:, None, :]  # (B, 1, 784)
    per_pixel = xs * logits - torch.nn.functional.softplus(logits)  # (B, K, 784)
    log_px_z = per_pixel.sum(-1)  # (B, K)
    zero = torch.zeros_like(z)
    m, lv = mu[:, None], logvar[:, None]  # (B, 1, D)
    log_pz = likelihood.log_normal(z, zero, zero)
    log_qz = likelihood.log_normal(z, m, lv)
    half_log_2pi = 0.5 * math.log(2 * math.pi) * z.shape[-1]
    per_dim_p = -0.5 * (math.log(2 * math.pi) + z.pow(2))  # (B, K, D)
    per_dim_q = -0.5 * (math.log(2 * math.pi) + lv + (z - m).pow(2) / lv.exp())
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(-1, keepdim=True)  # (B, 1)
    return [
        (log_px_z + log_pz + log_qz,
         "the log q(z|x) term has the wrong sign: the weight is p(x|z) p(z) / q(z|x), so "
         "log q(z|x) is subtracted, not added."),
        (log_px_z - log_pz + log_qz,
         "log p(z) and log q(z|x) have swapped signs: add log p(z), subtract log q(z|x)."),
        (log_px_z + log_pz,
         "log q(z|x) is missing: the weight divides by the proposal, w = p(x|z) p(z) / q(z|x)."),
        (log_px_z - log_qz, "log p(z) is missing: the weight needs the prior N(0, I) at each code."),
        (-log_px_z + log_pz - log_qz,
         "log p(x|z) has the wrong sign: it is *minus* the binary cross-entropy (a "
         "log-likelihood is at most 0 here)."),
        (log_px_z / _P + log_pz - log_qz,
         "log p(x|z) is averaged over the pixels: sum it over the 784 pixels (each image's "
         "log-likelihood in nats)."),
        (log_px_z - kl,
         "you subtract the closed-form KL: that gives the ELBO's average, but each weight needs "
         "log p(z_k) - log q(z_k|x) at its own sampled code z_k."),
        (log_px_z, "only log p(x|z) is there: add log p(z) and subtract log q(z|x)."),
        (log_px_z + per_dim_p.mean(-1) - per_dim_q.mean(-1),
         "log p(z) and log q(z|x) are averaged over the latent dimensions: the log-density of "
         "a diagonal Gaussian is the *sum* over its dimensions."),
        (log_px_z + log_pz - log_qz + half_log_2pi,
         "one of the two Gaussian log-densities lacks its -1/2 log(2 pi) per dimension (drop "
         "it from both or keep it in both)."),
        (log_px_z + log_pz - log_qz - half_log_2pi,
         "one of the two Gaussian log-densities lacks its -1/2 log(2 pi) per dimension (drop "
         "it from both or keep it in both)."),
        (log_px_z + log_pz - likelihood.log_normal(z, m, 2 * lv),
         "log q(z|x) uses exp(logvar) as the standard deviation: exp(logvar) is the "
         "*variance*, the standard deviation is exp(logvar / 2)."),
        (log_px_z + log_pz + 0.5 * (math.log(2 * math.pi) + (z - m).pow(2) / lv.exp()).sum(-1),
         "log q(z|x) lacks its -1/2 logvar term: the normalising constant of N(mu, sigma^2) "
         "depends on the variance."),
        (log_px_z + log_pz + 0.5 * (math.log(2 * math.pi) + lv + (z - m).pow(2)).sum(-1),
         "in log q(z|x), (z - mu)^2 is not divided by the variance exp(logvar)."),
    ]


def _weights_shape_hint(shape: tuple[int, ...]) -> str:
    if shape == (_K, _B):
        return (f"your log-weights have shape {shape}: one row per image and one column per "
                f"code, so (B, K) = {(_B, _K)}.")
    if shape in ((_B, _K, _D), (_B, _K, _P)):
        return (f"your log-weights have shape {shape}: sum over the pixels and over the "
                f"latent dimensions, so that each code gets one number, (B, K) = {(_B, _K)}.")
    if shape in ((_B,), (_K,), ()):
        return (f"your log-weights have shape {shape}: return one weight per image and code, "
                f"(B, K) = {(_B, _K)}, without averaging over the codes or the images.")
    return f"your log-weights have shape {shape}, expected (B, K) = {(_B, _K)}."


@checker("log_importance_weights", NOTEBOOK, needs=("log_importance_weights",),
         success="all three terms, their signs and their reductions are right.")
def check_log_importance_weights(log_importance_weights) -> None:
    for seed, binary in ((0, False), (1, True)):
        inputs = _weight_inputs(seed, binary)
        out = call(log_importance_weights, *inputs)
        if isinstance(out, torch.Tensor) and tuple(out.shape) != (_B, _K):
            raise Hint(_weights_shape_hint(tuple(out.shape)))
        out = expect_tensor(out, "your log-weights", shape=(_B, _K))
        if close(out, likelihood.log_importance_weights(*inputs)):
            continue
        for value, hint in _weight_slips(*inputs):
            if close(out, value):
                raise Hint(hint)
        raise Hint("your log-weights do not match log p(x|z) + log p(z) - log q(z|x). Check "
                   "each term on its own: log p(x|z) is minus the binary cross-entropy summed "
                   "over pixels, and both Gaussians are summed over the latent dimensions.")


def _lw(rows: int, k: int, low: float, high: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return low + (high - low) * torch.rand(rows, k, generator=g)  # (B, K) float32


def _mean_exp_slips(lw: torch.Tensor) -> list[tuple[torch.Tensor, str]]:
    k = lw.shape[1]
    lse = torch.logsumexp(lw, dim=1)  # (B,)
    return [
        (lse, "your estimate is log K too large: that is the log of the *sum* of the K "
              "weights. Average them instead: subtract log K."),
        (lse - k, "you subtract K; the mean divides the sum by K, which in log space "
                  "subtracts log K."),
        (lse / k, "you divide the log of the sum by K; the mean divides the *sum* by K, "
                  "which in log space subtracts log K."),
        (lw.mean(dim=1), "this is the average of the log-weights (the ELBO's estimate). The "
                         "estimate is the log of the average weight: average after exp, "
                         "then take the log."),
        (lw.sum(dim=1), "you sum the log-weights, which multiplies the weights. Average the "
                        "weights themselves (in log space: log-sum-exp minus log K)."),
        (lw.amax(dim=1), "this keeps only the largest log-weight: take it out first, but then "
                         "add the log of the mean of exp(log_w - max) over all K."),
    ]


def _call_mean_exp(fn, lw: torch.Tensor) -> torch.Tensor:
    out = call(fn, lw)  # a change of log_w in place is reported by call itself
    rows, k = lw.shape
    if isinstance(out, torch.Tensor):
        shape = tuple(out.shape)
        if shape == (rows, 1):
            raise Hint(f"your result has shape {shape}: return shape (B,) = {(rows,)} (drop the "
                       f"kept dimension, e.g. with keepdim=False or .squeeze(1)).")
        if shape == (k,):
            raise Hint(f"your result has shape {shape}: average over the K codes of each image "
                       f"(dim 1), not over the images (dim 0).")
        if shape == ():
            raise Hint("your result is a single number: return one estimate per image, shape "
                       f"(B,) = {(rows,)}, averaging over the codes (dim 1) only.")
    return out


@checker("log_mean_exp", NOTEBOOK, needs=("log_mean_exp",),
         success="right on every row, stable at -100 to -500 nats and below the float64 "
                 "limit, and log_w is left unchanged.")
def check_log_mean_exp(log_mean_exp) -> None:
    cases = [  # (log-weights, what they stand for)
        (_lw(3, 8, -3.0, 2.0, 0), None),
        (_lw(4, 6, -500.0, -110.0, 1), "around -100 to -500 nats, as for MNIST images"),
        (_lw(4, 6, -1100.0, -750.0, 2), "below -745, where exp underflows even in float64"),
        (_lw(3, 1, -300.0, -100.0, 3), None),
    ]
    for lw, where in cases:
        out = _call_mean_exp(log_mean_exp, lw)
        if isinstance(out, torch.Tensor) and out.is_floating_point() and where is not None \
                and not torch.isfinite(out).all():
            bad = out[~torch.isfinite(out)][0].item()
            if bad == float("inf"):
                raise Hint(f"your result is inf for log-weights {where}: something overflows. "
                           f"Subtract the *largest* log-weight (not the smallest, nor the "
                           f"mean), so that every exponent is at most 0.")
            raise Hint(f"your result is {bad} for log-weights {where}: exp of such numbers "
                       f"underflows to 0 (casting to float64 only moves the limit). Take the "
                       f"largest log-weight m out first: log mean exp(a) = m + log mean "
                       f"exp(a - m).")
        out = expect_tensor(out, "your result", shape=(lw.shape[0],))
        want = likelihood.log_mean_exp(lw.double(), dim=1)
        if close(out, want, rtol=1e-5, atol=1e-3):
            continue
        for value, hint in _mean_exp_slips(lw.double()):
            if close(out, value, rtol=1e-5, atol=1e-3):
                raise Hint(hint)
        if lw.shape[1] == 1:
            raise Hint("with K = 1 the estimate must equal the one log-weight itself.")
        raise Hint("your result does not match log( (1/K) sum_k exp(log_w_k) ) for each row; "
                   "work out a row of two log-weights by hand and compare.")
