"""The checkers of notebooks 03-05 against a catalogue of wrong implementations.

Every wrong implementation must fail with its own hint (asserted on the hint's text),
the reference must pass, and an untouched exercise must read "not attempted".
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal

from vae_course import checks, losses
from vae_course.tools.student_notebook import STUB_RAISE
from vae_course.checks import kl as kl_checks
from vae_course.checks import reparameterization as rep_checks
from vae_course.checks import sampling as sampling_checks
from vae_course.losses import LossParts
from fixtures.catalogue import fails_with

# ---------------------------------------------------------------- reparameterize


def rep_reference(mu, logvar):
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


_FIXED_EPS = torch.randn(20_000, 3, generator=torch.Generator().manual_seed(5))

REPARAMETERIZE_WRONG = {
    "std = logvar": (lambda mu, lv: mu + lv * torch.randn_like(mu), "matches logvar itself"),
    "std = exp(logvar)": (lambda mu, lv: mu + lv.exp() * torch.randn_like(mu), "*variance*"),
    "std = sqrt(logvar)": (lambda mu, lv: mu + lv.sqrt() * torch.randn_like(mu), "NaN"),
    "std = exp(2 logvar)": (lambda mu, lv: mu + torch.exp(2 * lv) * torch.randn_like(mu),
                            "off by the factors"),
    ".sample()": (lambda mu, lv: Normal(mu, torch.exp(0.5 * lv)).sample(), "no gradient"),
    ".detach()": (lambda mu, lv: rep_reference(mu, lv).detach(), "no gradient"),
    "torch.no_grad": (lambda mu, lv: _no_grad(rep_reference)(mu, lv), "no gradient"),
    "numpy": (lambda mu, lv: rep_reference(mu, lv).detach().numpy(), "NumPy"),
    "eps = ones": (lambda mu, lv: mu + torch.exp(0.5 * lv) * torch.ones_like(mu), "(ones?)"),
    "eps = zeros": (lambda mu, lv: mu + torch.exp(0.5 * lv) * torch.zeros_like(mu),
                    "exactly mu"),
    "mu only": (lambda mu, lv: mu, "exactly mu"),
    "one eps for the batch": (lambda mu, lv: mu + torch.exp(0.5 * lv) * torch.randn(mu.shape[1]),
                              "every row of z is the same"),
    "stored eps": (lambda mu, lv: mu + torch.exp(0.5 * lv) * _FIXED_EPS, "two calls in a row"),
    "seeded inside": (lambda mu, lv: _seeded(rep_reference)(mu, lv), "two calls in a row"),
    "uniform eps": (lambda mu, lv: mu + torch.exp(0.5 * lv) * torch.rand_like(mu), "uniformly"),
    "forgot mu": (lambda mu, lv: torch.exp(0.5 * lv) * torch.randn_like(mu), "not mu"),
    "wrong shape": (lambda mu, lv: rep_reference(mu, lv).sum(dim=1), "expected (20000, 3)"),
    "transposed": (lambda mu, lv: rep_reference(mu, lv).T, "expected (20000, 3)"),
    "returns None": (lambda mu, lv: None, "None"),
    "std detached": (lambda mu, lv: mu + torch.exp(0.5 * lv).detach() * torch.randn_like(mu),
                     "no gradient reaches logvar"),
    "mu detached": (lambda mu, lv: mu.detach() + torch.exp(0.5 * lv) * torch.randn_like(mu),
                    "no gradient reaches mu"),
}


def _no_grad(fn):
    def wrapped(*args):
        with torch.no_grad():
            return fn(*args)
    return wrapped


def _seeded(fn):
    def wrapped(*args):
        torch.manual_seed(123)
        return fn(*args)
    return wrapped


def stub(name: str):
    """The exercise's function as the student notebook has it: its stub raise, untouched."""
    namespace = {}
    exec(f"def {name}(*args, **kwargs):\n    {STUB_RAISE.format(name=name)}\n", namespace)
    return namespace[name]


_fails_with = fails_with


def test_reparameterize_reference_passes():
    assert rep_checks.check_reparameterize(rep_reference).passed


@pytest.mark.parametrize("name", REPARAMETERIZE_WRONG)
def test_reparameterize_mistake_is_caught_with_its_hint(name):
    fn, hint = REPARAMETERIZE_WRONG[name]
    _fails_with(rep_checks.check_reparameterize(fn), hint)


def grad_reference(f, mu, logvar, n_samples=1000):
    mu, logvar = mu.detach().requires_grad_(True), logvar.detach().requires_grad_(True)
    z = mu + torch.exp(0.5 * logvar) * torch.randn(n_samples, len(mu))
    f(z).mean().backward()
    return mu.grad, logvar.grad


def _grad_variant(sample, reduce=torch.mean):
    def fn(f, mu, logvar, n_samples=1000):
        mu, logvar = mu.detach().requires_grad_(True), logvar.detach().requires_grad_(True)
        reduce(f(sample(mu, logvar, n_samples))).backward()
        return mu.grad, logvar.grad
    return fn


REPARAM_GRADIENTS_WRONG = {
    "sum over samples": (_grad_variant(lambda m, lv, n: m + torch.exp(0.5 * lv) * torch.randn(
        n, len(m)), reduce=torch.sum), "n_samples"),
    "samples ignore logvar": (_grad_variant(lambda m, lv, n: m + 0 * lv + torch.randn(
        n, len(m))), "grad_logvar is zero"),
    "std = exp(logvar)": (_grad_variant(lambda m, lv, n: m + torch.exp(lv) * torch.randn(
        n, len(m))), "grad_logvar does not match"),
    "no requires_grad": (lambda f, mu, lv, n=1000: (mu.grad, lv.grad), "grad_mu is None"),
    "one value": (lambda f, mu, lv, n=1000: grad_reference(f, mu, lv, n)[0], "return a pair"),
    "returns None": (lambda f, mu, lv, n=1000: None, "returned None"),
    "mu not moved": (_grad_variant(lambda m, lv, n: 0 * m + torch.exp(0.5 * lv) * torch.randn(
        n, len(m))), "grad_mu does not match"),
}


def test_reparam_gradients_reference_passes():
    assert rep_checks.check_reparam_gradients(grad_reference).passed


@pytest.mark.parametrize("name", REPARAM_GRADIENTS_WRONG)
def test_reparam_gradients_mistake_is_caught_with_its_hint(name):
    fn, hint = REPARAM_GRADIENTS_WRONG[name]
    _fails_with(rep_checks.check_reparam_gradients(fn), hint)


# ---------------------------------------------------------------- gaussian_kl

def _kl_terms(mu, logvar):
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())  # (B, D)


KL_WRONG = {
    "wrong sign": (lambda mu, lv: -_kl_terms(mu, lv).sum(1).mean(), "opposite sign"),
    "missing 1/2": (lambda mu, lv: 2 * _kl_terms(mu, lv).sum(1).mean(), "factor 1/2"),
    "sum over batch": (lambda mu, lv: _kl_terms(mu, lv).sum(), "summed over the batch"),
    "no sum over latent dims": (lambda mu, lv: _kl_terms(mu, lv).mean(0), "one value per "
                                "latent dimension"),
    "mean over latent dims": (lambda mu, lv: _kl_terms(mu, lv).mean(1).mean(),
                              "averaged over the latent dimensions"),
    "mean over everything": (lambda mu, lv: _kl_terms(mu, lv).mean(),
                             "averaged over the latent dimensions"),
    "per-sample vector": (lambda mu, lv: _kl_terms(mu, lv).sum(1), "one value per sample"),
    "no reduction": (lambda mu, lv: _kl_terms(mu, lv), "per sample and latent dimension"),
    "logvar as variance": (lambda mu, lv: (-0.5 * (1 + lv - mu**2 - lv)).sum(1).mean(),
                           "uses logvar where the variance belongs"),
    "log of logvar": (lambda mu, lv: (-0.5 * (1 + lv.log() - mu**2 - lv)).sum(1).mean(), "NaN"),
    "std as variance": (lambda mu, lv: (-0.5 * (1 + lv - mu**2 - (0.5 * lv).exp())).sum(1).mean(),
                        "standard deviation where the variance belongs"),
    "missing mu^2": (lambda mu, lv: (-0.5 * (1 + lv - lv.exp())).sum(1).mean(), "mu^2"),
    "missing 1": (lambda mu, lv: (-0.5 * (lv - mu**2 - lv.exp())).sum(1).mean(), "'1 +'"),
    "numpy": (lambda mu, lv: _kl_terms(mu, lv).sum(1).mean().numpy(), "NumPy"),
    ".item()": (lambda mu, lv: _kl_terms(mu, lv).sum(1).mean().item(), "Python number"),
    "returns None": (lambda mu, lv: None, "None"),
    "other slip": (lambda mu, lv: _kl_terms(mu, lv).sum(1).mean() + 0.3 * mu.mean(),
                   "does not match the closed form"),
}


def test_gaussian_kl_reference_passes():
    assert kl_checks.check_gaussian_kl(losses.gaussian_kl).passed


@pytest.mark.parametrize("name", KL_WRONG)
def test_gaussian_kl_mistake_is_caught_with_its_hint(name):
    fn, hint = KL_WRONG[name]
    _fails_with(kl_checks.check_gaussian_kl(fn), hint)


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


VAE_LOSS_WRONG = {
    "beta ignored": (_loss_variant(combine=lambda r, k, b: r + k), "beta (here 2.5) is ignored"),
    "beta on recon": (_loss_variant(combine=lambda r, k, b: b * r + k),
                      "beta multiplies the reconstruction"),
    "recon mean over pixels": (_loss_variant(recon_fn=_bce_mean), "averaged over the pixels"),
    "recon summed over batch": (_loss_variant(recon_fn=_bce_sum), "summed over the batch"),
    "sigmoid twice": (_loss_variant(recon_fn=lambda l, x: _bce(torch.sigmoid(l), x)), "sigmoid"),
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
}


def test_vae_loss_reference_passes():
    assert kl_checks.check_vae_loss(losses.vae_loss).passed


def test_vae_loss_plain_tuple_passes():
    assert kl_checks.check_vae_loss(lambda *a: tuple(losses.vae_loss(*a))).passed


@pytest.mark.parametrize("name", VAE_LOSS_WRONG)
def test_vae_loss_mistake_is_caught_with_its_hint(name):
    fn, hint = VAE_LOSS_WRONG[name]
    _fails_with(kl_checks.check_vae_loss(fn), hint)


# ---------------------------------------------------------------- sample_prior

def prior_reference(n, latent_dim, generator=None):
    return torch.randn(n, latent_dim, generator=generator)


SAMPLE_PRIOR_WRONG = {
    "uniform": (lambda n, d, generator=None: torch.rand(n, d, generator=generator), "uniform"),
    "uniform with unit spread": (lambda n, d, generator=None: (torch.rand(
        n, d, generator=generator) - 0.5) * 12 ** 0.5, "not normally distributed"),
    "transposed": (lambda n, d, generator=None: torch.randn(d, n, generator=generator),
                   "rows are samples"),
    "wrong shape": (lambda n, d, generator=None: torch.randn(n, generator=generator),
                    "expected (n, latent_dim)"),
    "ignores generator": (lambda n, d, generator=None: torch.randn(n, d), "ignores the generator"),
    "seeded inside": (lambda n, d, generator=None: torch.randn(
        n, d, generator=generator or torch.Generator().manual_seed(0)), "without a generator"),
    "scale 2": (lambda n, d, generator=None: 2 * torch.randn(n, d, generator=generator),
                "Check the scale"),
    "variance 1/2": (lambda n, d, generator=None: 0.5 * torch.randn(n, d, generator=generator),
                     "Check the scale"),
    "shifted": (lambda n, d, generator=None: 1 + torch.randn(n, d, generator=generator),
                "mean 0"),
    "copied dimensions": (lambda n, d, generator=None: torch.randn(
        n, 1, generator=generator).repeat(1, d), "correlated"),
    "numpy": (lambda n, d, generator=None: np.random.default_rng(0).standard_normal((n, d)),
              "NumPy"),
    "integers": (lambda n, d, generator=None: torch.randint(-2, 3, (n, d), generator=generator),
                 "floating-point"),
}


def test_sample_prior_reference_passes():
    assert sampling_checks.check_sample_prior(prior_reference).passed


@pytest.mark.parametrize("name", SAMPLE_PRIOR_WRONG)
def test_sample_prior_mistake_is_caught_with_its_hint(name):
    fn, hint = SAMPLE_PRIOR_WRONG[name]
    _fails_with(sampling_checks.check_sample_prior(fn), hint)


# ---------------------------------------------------------------- interpolate

def lerp_reference(z0, z1, steps):
    t = torch.linspace(0, 1, steps)[:, None]  # (steps, 1)
    return (1 - t) * z0 + t * z1


def _slerp(z0, z1, steps):
    t = torch.linspace(0, 1, steps)[:, None]
    omega = torch.arccos((z0 / z0.norm()).dot(z1 / z1.norm()))
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


INTERPOLATE_WRONG = {
    "reversed": (lambda z0, z1, s: lerp_reference(z1, z0, s), "from z1 to z0"),
    "missing last endpoint": (lambda z0, z1, s: ((1 - (t := torch.linspace(0, 1, s + 1)[:-1, None]))
                                                 * z0 + t * z1), "last row"),
    "missing first endpoint": (lambda z0, z1, s: ((1 - (t := torch.linspace(0, 1, s + 1)[1:, None]))
                                                  * z0 + t * z1), "first row"),
    "one step too many": (lambda z0, z1, s: lerp_reference(z0, z1, s + 1), "returned 8 rows"),
    "transposed": (lambda z0, z1, s: lerp_reference(z0, z1, s).T, "one row per step"),
    "flattened": (lambda z0, z1, s: lerp_reference(z0, z1, s).flatten(), "shape"),
    "uneven steps": (lambda z0, z1, s: lerp_reference(z0, z1, s)[
        (torch.linspace(0, 1, s) ** 2 * (s - 1)).round().long()], "evenly spaced"),
    "spherical": (_slerp, "straight line"),
    "numpy": (lambda z0, z1, s: lerp_reference(z0, z1, s).numpy(), "NumPy"),
    "returns None": (lambda z0, z1, s: None, "None"),
}


def test_interpolate_reference_passes():
    assert sampling_checks.check_interpolate(lerp_reference).passed


@pytest.mark.parametrize("name", INTERPOLATE_WRONG)
def test_interpolate_mistake_is_caught_with_its_hint(name):
    fn, hint = INTERPOLATE_WRONG[name]
    _fails_with(sampling_checks.check_interpolate(fn), hint)


# ---------------------------------------------------------------- common behaviour

CHECKERS = {
    "reparameterize": rep_checks.check_reparameterize,
    "reparam_gradients": rep_checks.check_reparam_gradients,
    "gaussian_kl": kl_checks.check_gaussian_kl,
    "vae_loss": kl_checks.check_vae_loss,
    "sample_prior": sampling_checks.check_sample_prior,
    "interpolate": sampling_checks.check_interpolate,
}


@pytest.mark.parametrize("name", CHECKERS)
def test_untouched_exercise_reads_not_attempted(name):
    result = CHECKERS[name](stub(name))
    assert result.status == "not attempted"


@pytest.mark.parametrize("name", CHECKERS)
def test_a_crash_in_student_code_is_an_error_with_its_message(name):
    def broken(*args, **kwargs):
        raise ValueError("oops in my code")
    result = CHECKERS[name](broken)
    assert result.status == "error" and "oops in my code" in result.message


def test_exercises_are_registered_for_their_notebooks():
    names = {nb: [e.name for e in checks.exercises_for(nb)]
             for nb in ("03_reparameterization", "04_kl_regularization",
                        "05_sampling_and_interpolation")}
    assert names == {"03_reparameterization": ["reparameterize", "reparam_gradients"],
                     "04_kl_regularization": ["gaussian_kl", "vae_loss"],
                     "05_sampling_and_interpolation": ["sample_prior", "interpolate"]}
    assert checks.EXERCISES["vae_loss"].needs == ("vae_loss",)


def test_hints_do_not_give_the_answer_away():
    texts = [CHECKERS[name](fn).message for table, name in (
        (REPARAMETERIZE_WRONG, "reparameterize"), (KL_WRONG, "gaussian_kl"),
        (VAE_LOSS_WRONG, "vae_loss"), (SAMPLE_PRIOR_WRONG, "sample_prior"),
        (INTERPOLATE_WRONG, "interpolate")) for fn, _ in table.values()]
    for text in texts:
        assert "exp(0.5" not in text and "randn_like" not in text and "torch.randn(" not in text
