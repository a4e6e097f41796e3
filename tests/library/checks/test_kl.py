"""The checkers of notebook 04 (vae_course/checks/kl.py): their test data."""

import torch
import torch.nn.functional as F
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

from vae_course import checks, losses
from vae_course.losses import LossParts

from .cases import COPIED, Cases, Wrong

LEAKS = ("exp(0.5", "randn_like", "torch.randn(")

# ---------------------------------------------------------------- gaussian_kl


def _kl_terms(mu, logvar):
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())  # (B, D)


def _exp_in_place(mu, logvar):
    var = logvar.exp_()
    return -0.5 * (1 + var.log() - mu.pow(2) - var).sum(dim=1).mean()


def _kl_in_place(mu, logvar):
    t = logvar.exp()  # a new tensor
    t.neg_()
    t.add_(1 + logvar - mu.pow(2))
    return -0.5 * t.sum(dim=1).mean()


def _kl_reference(mu, logvar):
    return _kl_terms(mu, logvar).sum(dim=1).mean()


def _kl_loop(mu, logvar):
    rows = [-0.5 * (1 + lv - m.pow(2) - lv.exp()).sum() for m, lv in zip(mu, logvar)]
    return torch.stack(rows).mean()


GAUSSIAN_KL = Cases(
    reference=_kl_reference,
    wrong={
        "the package's gaussian_kl": (losses.gaussian_kl, COPIED),
        "wrong sign": (lambda mu, lv: -_kl_terms(mu, lv).sum(1).mean(), "opposite sign"),
        "missing 1/2": (lambda mu, lv: 2 * _kl_terms(mu, lv).sum(1).mean(), "factor 1/2"),
        "sum over batch": (lambda mu, lv: _kl_terms(mu, lv).sum(), "summed over the batch"),
        "no sum over latent dims": (lambda mu, lv: _kl_terms(mu, lv).mean(0),
                                    "one value per latent dimension"),
        "mean over latent dims": (lambda mu, lv: _kl_terms(mu, lv).mean(1).mean(),
                                  "averaged over the latent dimensions"),
        "mean over everything": (lambda mu, lv: _kl_terms(mu, lv).mean(),
                                 "averaged over the latent dimensions"),
        "per-sample vector": (lambda mu, lv: _kl_terms(mu, lv).sum(1), "one value per sample"),
        "no reduction": (lambda mu, lv: _kl_terms(mu, lv), "per sample and latent dimension"),
        "logvar as variance": (lambda mu, lv: (-0.5 * (1 + lv - mu**2 - lv)).sum(1).mean(),
                               "uses logvar where the variance belongs"),
        "log of logvar": (lambda mu, lv: (-0.5 * (1 + lv.log() - mu**2 - lv)).sum(1).mean(),
                          "NaN"),
        "std as variance": (lambda mu, lv: (-0.5 * (1 + lv - mu**2 - (0.5 * lv).exp()))
                            .sum(1).mean(), "standard deviation where the variance belongs"),
        "missing mu^2": (lambda mu, lv: (-0.5 * (1 + lv - lv.exp())).sum(1).mean(), "mu^2"),
        "missing 1": (lambda mu, lv: (-0.5 * (lv - mu**2 - lv.exp())).sum(1).mean(), "'1 +'"),
        "numpy": (lambda mu, lv: _kl_terms(mu, lv).sum(1).mean().numpy(), "NumPy"),
        ".item()": (lambda mu, lv: _kl_terms(mu, lv).sum(1).mean().item(), "Python number"),
        "returns None": (lambda mu, lv: None, "None"),
        "other slip": (lambda mu, lv: _kl_terms(mu, lv).sum(1).mean() + 0.3 * mu.mean(),
                       "does not match the closed form"),
        "logvar.exp_()": Wrong(_exp_in_place, "changed `logvar` in place", absent=("flatten",)),
    },
    styles={
        "float64": lambda mu, lv: _kl_reference(mu.double(), lv.double()),
        "torch.distributions": lambda mu, lv: kl_divergence(
            Normal(mu, torch.exp(0.5 * lv)), Normal(0.0, 1.0)).sum(dim=1).mean(),
        "Independent": lambda mu, lv: kl_divergence(
            Independent(Normal(mu, torch.exp(0.5 * lv)), 1),
            Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)).mean(),
        "in place on a fresh tensor": _kl_in_place,
        "loop over rows": _kl_loop,
    },
    leaks=LEAKS,
)

# ---------------------------------------------------------------- vae_loss


def _bce(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1).mean()


def _bce_mean(logits, x):  # mean over pixels and batch: F's default reduction
    return F.binary_cross_entropy_with_logits(logits, x)


def _bce_sum(logits, x):  # summed over pixels and batch
    return F.binary_cross_entropy_with_logits(logits, x, reduction="sum")


def _loss_variant(recon_fn=_bce, combine=lambda r, k, b: r + b * k, kl_out=lambda k, b: k):
    def vae_loss(logits, x, mu, logvar, beta=1.0):
        recon, kl = recon_fn(logits, x), losses.gaussian_kl(mu, logvar)
        return LossParts(combine(recon, kl, beta), recon, kl_out(kl, beta))
    return vae_loss


def _kl_plus_equal(logits, x, mu, logvar, beta=1.0):
    recon = losses.reconstruction_loss(logits, x)
    kl = losses.gaussian_kl(mu, logvar)
    loss = recon
    loss += beta * kl  # also changes recon: they are one tensor
    return LossParts(loss, recon, kl)


def _distributions_parts(logits, x, mu, logvar, beta):
    recon = -Bernoulli(logits=logits).log_prob(x).sum(dim=1).mean()
    std = torch.exp(0.5 * logvar)
    kl = kl_divergence(Normal(mu, std), Normal(torch.zeros_like(mu), torch.ones_like(std)))
    kl = kl.sum(dim=1).mean()
    return recon + beta * kl, recon, kl


def _vae_loss_distributions(logits, x, mu, logvar, beta=1.0):
    return LossParts(*_distributions_parts(logits, x, mu, logvar, beta))


def _vae_loss_distributions_list(logits, x, mu, logvar, beta=1.0):
    return list(_distributions_parts(logits, x, mu, logvar, beta))  # a list, not LossParts


def _vae_loss_fresh_in_place(logits, x, mu, logvar, beta=1.0):
    recon = losses.reconstruction_loss(logits, x)
    kl = losses.gaussian_kl(mu, logvar)
    loss = recon.clone()
    loss += beta * kl  # in place, on a copy
    return LossParts(loss, recon, kl)


def _vae_loss_reference(logits, x, mu, logvar, beta=1.0):
    recon = losses.reconstruction_loss(logits, x)  # the earlier exercises' references are allowed
    kl = losses.gaussian_kl(mu, logvar)
    return LossParts(recon + beta * kl, recon, kl)


LIST_HINT = "returned a Python list: the exercise asks for the three parts as LossParts"

VAE_LOSS = Cases(
    reference=_vae_loss_reference,
    wrong={
        "the package's vae_loss": (losses.vae_loss, COPIED),
        "beta ignored": (_loss_variant(combine=lambda r, k, b: r + k),
                         "beta (here 2.5) is ignored"),
        "beta on recon": (_loss_variant(combine=lambda r, k, b: b * r + k),
                          "beta multiplies the reconstruction"),
        "recon mean over pixels": (_loss_variant(recon_fn=_bce_mean), "averaged over the pixels"),
        "recon summed over batch": (_loss_variant(recon_fn=_bce_sum), "summed over the batch"),
        "sigmoid twice": (_loss_variant(recon_fn=lambda l, x: _bce(torch.sigmoid(l), x)),
                          "sigmoid"),
        "recon sign": (_loss_variant(recon_fn=lambda l, x: -_bce(l, x)), "recon is negative"),
        "missing KL": (_loss_variant(combine=lambda r, k, b: r), "KL term is missing"),
        "kl includes beta": (_loss_variant(kl_out=lambda k, b: b * k), "already includes beta"),
        "wrong order": (lambda l, x, mu, lv, beta=1.0: tuple(reversed(losses.vae_loss(
            l, x, mu, lv, beta))), "swapped"),
        "plain loss": (lambda l, x, mu, lv, beta=1.0: losses.vae_loss(l, x, mu, lv, beta).loss,
                       "three values"),
        "returns None": (lambda l, x, mu, lv, beta=1.0: None, "None"),
        "detached loss": (lambda l, x, mu, lv, beta=1.0: LossParts(
            *(p.detach() for p in losses.vae_loss(l, x, mu, lv, beta))), "no gradient"),
        "wrong kl": (_loss_variant(kl_out=lambda k, b: k + 1), "kl does not match"),
        "loss = recon; loss +=": Wrong(_kl_plus_equal, "in-place update", absent=("flatten",)),
        "a list of three values": (lambda *a: list(losses.vae_loss(*a)), LIST_HINT),
        "torch.distributions, a list": (_vae_loss_distributions_list, LIST_HINT),
        "a list of two values": Wrong(lambda *a: list(losses.vae_loss(*a))[:2],
                                      "returned 2 values", absent=("Python list",)),
    },
    styles={
        "a plain tuple": lambda *a: tuple(_vae_loss_reference(*a)),
        "float64": lambda l, x, mu, lv, beta=1.0: LossParts(*(
            p.double() for p in _vae_loss_reference(l, x, mu, lv, beta))),
        "in place on a fresh tensor": _vae_loss_fresh_in_place,
        "torch.distributions": _vae_loss_distributions,
    },
    leaks=LEAKS,
)

CASES = {"gaussian_kl": GAUSSIAN_KL, "vae_loss": VAE_LOSS}


def test_the_exercises_of_notebook_04_in_order():
    assert [e.name for e in checks.exercises_for("04_kl_regularization")] == list(CASES)
