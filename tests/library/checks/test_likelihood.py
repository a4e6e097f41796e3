"""The checkers of notebook 08 (vae_course/checks/likelihood.py): their test data, and the
magnitudes at which the naive log-mean-exp really underflows.
"""

import math

import torch
import torch.nn.functional as F
from torch.distributions import Normal

from vae_course import checks, likelihood

from .cases import COPIED, Cases, Wrong

LEAKS = ("softplus", "binary_cross_entropy_with_logits", "torch.logsumexp(log_w, dim=1) - math.log")

# ---------------------------------------------------------------- log_importance_weights


def _terms(x, logits, z, mu, logvar):
    log_px_z = -F.binary_cross_entropy_with_logits(
        logits, x[:, None, :].expand_as(logits), reduction="none").sum(-1)  # (B, K)
    log_pz = Normal(0.0, 1.0).log_prob(z).sum(-1)
    q = Normal(mu[:, None], torch.exp(0.5 * logvar[:, None]))
    return log_px_z, log_pz, q.log_prob(z).sum(-1)


def weights_reference(x, logits, z, mu, logvar):
    """Written independently of the package: torch.distributions and F's BCE."""
    log_px_z, log_pz, log_qz = _terms(x, logits, z, mu, logvar)
    return log_px_z + log_pz - log_qz


def weights_without_constants(x, logits, z, mu, logvar):
    """Both -1/2 log(2 pi) terms dropped: they cancel, so this is right too."""
    log_px_z = (x[:, None] * logits - F.softplus(logits)).sum(-1)
    m, lv = mu[:, None], logvar[:, None]
    return log_px_z - 0.5 * (z ** 2).sum(-1) + 0.5 * (lv + (z - m) ** 2 / lv.exp()).sum(-1)


def _w(combine):
    return lambda x, l, z, mu, lv: combine(*_terms(x, l, z, mu, lv), x, l, z, mu, lv)


def _kl(mu, lv):
    return -0.5 * (1 + lv - mu ** 2 - lv.exp()).sum(-1, keepdim=True)


LOG_IMPORTANCE_WEIGHTS = Cases(
    reference=weights_reference,
    wrong={
        "sign of log q": (_w(lambda a, p, q, *_: a + p + q), "log q(z|x) term has the wrong sign"),
        "p and q swapped": (_w(lambda a, p, q, *_: a - p + q), "swapped signs"),
        "no log q": (_w(lambda a, p, q, *_: a + p), "log q(z|x) is missing"),
        "no log p(z)": (_w(lambda a, p, q, *_: a - q), "log p(z) is missing"),
        "recon sign": (_w(lambda a, p, q, *_: -a + p - q), "log p(x|z) has the wrong sign"),
        "recon mean over pixels": (_w(lambda a, p, q, *_: a / 784 + p - q),
                                   "averaged over the pixels"),
        "closed-form KL": (_w(lambda a, p, q, x, l, z, mu, lv: a - _kl(mu, lv)), "closed-form KL"),
        "recon only": (_w(lambda a, p, q, *_: a), "only log p(x|z)"),
        "one constant missing": (_w(lambda a, p, q, x, l, z, *_: a + p - q + 0.5 * math.log(
            2 * math.pi) * z.shape[-1]), "-1/2 log(2 pi)"),
        "std = exp(logvar)": (lambda x, l, z, mu, lv: _terms(x, l, z, mu, lv)[0] + _terms(
            x, l, z, mu, lv)[1] - Normal(mu[:, None], lv[:, None].exp()).log_prob(z).sum(-1),
            "*variance*"),
        "no logvar normaliser": (lambda x, l, z, mu, lv: sum(_terms(x, l, z, mu, lv)[:2]) + 0.5 * (
            math.log(2 * math.pi) + (z - mu[:, None]) ** 2 / lv[:, None].exp()).sum(-1),
            "-1/2 logvar"),
        "not divided by variance": (lambda x, l, z, mu, lv: sum(_terms(x, l, z, mu, lv)[:2])
                                    + 0.5 * (math.log(2 * math.pi) + lv[:, None]
                                             + (z - mu[:, None]) ** 2).sum(-1),
                                    "divided by the variance"),
        "mean over latent dims": (lambda x, l, z, mu, lv: _terms(x, l, z, mu, lv)[0]
                                  + Normal(0.0, 1.0).log_prob(z).mean(-1)
                                  - Normal(mu[:, None], torch.exp(0.5 * lv[:, None]))
                                  .log_prob(z).mean(-1),
                                  "averaged over the latent dimensions"),
        "transposed": (lambda *a: weights_reference(*a).T, "one row per image"),
        "no sum over latent dims": (lambda x, l, z, mu, lv: _terms(x, l, z, mu, lv)[0][..., None]
                                    + Normal(0.0, 1.0).log_prob(z)
                                    - Normal(mu[:, None], torch.exp(0.5 * lv[:, None]))
                                    .log_prob(z),
                                    "sum over the pixels and over the latent dimensions"),
        "averaged over codes": (lambda *a: weights_reference(*a).mean(1), "without averaging"),
        "mu not broadcast": Wrong(lambda x, l, z, mu, lv: _terms(x, l, z, mu, lv)[0] + _terms(
            x, l, z, mu, lv)[1] - Normal(mu, torch.exp(0.5 * lv)).log_prob(z).sum(-1), "raised",
            statuses=("error",)),
        "numpy": (lambda *a: weights_reference(*a).numpy(), "NumPy"),
        "returns None": (lambda *a: None, "None"),
        "other slip": (lambda *a: weights_reference(*a) + 0.5, "do not match"),
        # the package's own answer, which the notebook no longer names above the exercise
        "the package's log_importance_weights": (likelihood.log_importance_weights, COPIED),
    },
    styles={
        "without the cancelling constants": weights_without_constants,
        "float64": lambda x, l, z, mu, lv: weights_reference(
            x.double(), l.double(), z.double(), mu.double(), lv.double()),
    },
    leaks=LEAKS,
)

# ---------------------------------------------------------------- log_mean_exp


def lme_reference(log_w):
    m = log_w.max(dim=1, keepdim=True).values  # (B, 1)
    return (m + torch.log(torch.exp(log_w - m).mean(dim=1, keepdim=True))).squeeze(1)


def lme_torch(log_w):
    return torch.logsumexp(log_w, dim=1) - math.log(log_w.shape[1])


def _sum_in_place(log_w):
    m = log_w.amax(dim=1, keepdim=True)
    log_w -= m
    return m.squeeze(1) + log_w.exp().mean(1).log()


LOG_MEAN_EXP = Cases(
    reference=lme_reference,
    wrong={
        "naive log(mean(exp))": (lambda lw: torch.log(torch.mean(torch.exp(lw), dim=1)),
                                 "underflows"),
        "naive in float64": (lambda lw: torch.log(torch.exp(lw.double()).mean(dim=1)).float(),
                             "float64"),
        "missing - log K": (lambda lw: torch.logsumexp(lw, dim=1), "log K too large"),
        "sum of the weights, not the mean": (lambda lw: (m := lw.amax(1, keepdim=True)).squeeze(1)
                                             + (lw - m).exp().sum(1).log(), "*sum*"),
        "- K instead of - log K": (lambda lw: torch.logsumexp(lw, 1) - lw.shape[1], "subtract K"),
        "log of the sum divided by K": (lambda lw: torch.logsumexp(lw, 1) / lw.shape[1],
                                        "divide"),
        "mean of the log-weights": (lambda lw: lw.mean(1), "average of the log-weights"),
        "sum of the log-weights": (lambda lw: lw.sum(1), "sum the log-weights"),
        "max only": (lambda lw: lw.amax(1), "only the largest"),
        "min subtracted": (lambda lw: (m := lw.amin(1, keepdim=True)).squeeze(1)
                           + (lw - m).exp().mean(1).log(), "*largest* log-weight"),
        "mean over images": (lambda lw: torch.logsumexp(lw, 0) - math.log(lw.shape[0]), "dim 1"),
        "over everything": (lambda lw: torch.logsumexp(lw.flatten(), 0) - math.log(lw.numel()),
                            "single number"),
        "keepdim": (lambda lw: lme_torch(lw)[:, None], "drop the kept dimension"),
        "in place": (_sum_in_place, "in place"),
        "numpy": (lambda lw: lme_torch(lw).numpy(), "NumPy"),
        "returns None": (lambda lw: None, "None"),
        "other slip": (lambda lw: lme_torch(lw) + 0.1, "does not match"),
        "the package's log_mean_exp": (lambda lw: likelihood.log_mean_exp(lw, dim=1), COPIED),
    },
    styles={
        "torch.logsumexp": lme_torch,
        "float64": lambda lw: lme_torch(lw.double()),
    },
    leaks=LEAKS,
)

CASES = {"log_importance_weights": LOG_IMPORTANCE_WEIGHTS, "log_mean_exp": LOG_MEAN_EXP}


def test_the_exercises_of_notebook_08_in_order():
    assert [e.name for e in checks.exercises_for("08_log_likelihood")] == list(CASES)


def test_the_naive_version_really_underflows_on_the_checked_magnitudes():
    lw = torch.tensor([[-110.0, -300.0, -500.0]])
    assert torch.isinf(torch.log(torch.exp(lw).mean(1))).all()
    assert torch.isinf(torch.log(torch.exp(lw.double() - 700).mean(1))).all()
