"""The checkers of notebook 03 (vae_course/checks/reparameterization.py): their test data."""

import torch
from torch.distributions import Independent, MultivariateNormal, Normal

from vae_course import checks

from .cases import Cases, Wrong, no_grad

LEAKS = ("exp(0.5", "randn_like", "torch.randn(")

# ---------------------------------------------------------------- reparameterize


def rep_reference(mu, logvar):
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


_FIXED_EPS = torch.randn(20_000, 3, generator=torch.Generator().manual_seed(5))


def _seeded(fn):
    def wrapped(*args):
        torch.manual_seed(123)
        return fn(*args)
    return wrapped


def _mu_in_place(mu, logvar):
    return mu.add_(torch.exp(0.5 * logvar) * torch.randn_like(mu))  # mu is a leaf


def _same_noise_per_row(mu, logvar):
    eps = torch.randn(len(mu), 1).expand_as(mu)  # one eps per row, shared by the dimensions
    return mu + torch.exp(0.5 * logvar) * eps


def _half_the_rows_repeat(mu, logvar):
    eps = torch.randn(len(mu) // 2, mu.shape[1]).repeat(2, 1)
    return mu + torch.exp(0.5 * logvar) * eps


def _independent_rsample(mu, logvar):  # the trick done by torch.distributions, one level down
    return Independent(Normal(mu, torch.exp(0.5 * logvar)), 1).rsample()


def _eps_from_multivariate_sample(mu, logvar):  # its sample() runs rsample() without gradients
    d = mu.shape[1]
    eps = MultivariateNormal(torch.zeros(d), torch.eye(d)).sample((len(mu),))  # (B, d)
    return mu + torch.exp(0.5 * logvar) * eps


REPARAMETERIZE = Cases(
    reference=rep_reference,
    wrong={
        "std = logvar": (lambda mu, lv: mu + lv * torch.randn_like(mu), "matches logvar itself"),
        "std = exp(logvar)": (lambda mu, lv: mu + lv.exp() * torch.randn_like(mu), "*variance*"),
        "std = sqrt(logvar)": (lambda mu, lv: mu + lv.sqrt() * torch.randn_like(mu), "NaN"),
        "std = exp(2 logvar)": (lambda mu, lv: mu + torch.exp(2 * lv) * torch.randn_like(mu),
                                "off by the factors"),
        ".sample()": (lambda mu, lv: Normal(mu, torch.exp(0.5 * lv)).sample(), "no gradient"),
        ".detach()": (lambda mu, lv: rep_reference(mu, lv).detach(), "no gradient"),
        "torch.no_grad": (no_grad(rep_reference), "no gradient"),
        "numpy": (lambda mu, lv: rep_reference(mu, lv).detach().numpy(), "NumPy"),
        "eps = ones": (lambda mu, lv: mu + torch.exp(0.5 * lv) * torch.ones_like(mu), "(ones?)"),
        "eps = zeros": (lambda mu, lv: mu + torch.exp(0.5 * lv) * torch.zeros_like(mu),
                        "exactly mu"),
        "mu only": (lambda mu, lv: mu, "exactly mu"),
        "one eps for the batch": (lambda mu, lv: mu + torch.exp(0.5 * lv) * torch.randn(
            mu.shape[1]), "every row of z is the same"),
        "stored eps": (lambda mu, lv: mu + torch.exp(0.5 * lv) * _FIXED_EPS, "two calls in a row"),
        "seeded inside": (_seeded(rep_reference), "two calls in a row"),
        "uniform eps": (lambda mu, lv: mu + torch.exp(0.5 * lv) * torch.rand_like(mu), "uniformly"),
        "forgot mu": (lambda mu, lv: torch.exp(0.5 * lv) * torch.randn_like(mu), "not mu"),
        "wrong shape": (lambda mu, lv: rep_reference(mu, lv).sum(dim=1), "expected (20000, 3)"),
        "transposed": (lambda mu, lv: rep_reference(mu, lv).T, "expected (20000, 3)"),
        "returns None": (lambda mu, lv: None, "None"),
        "std detached": (lambda mu, lv: mu + torch.exp(0.5 * lv).detach() * torch.randn_like(mu),
                         "no gradient reaches logvar"),
        "mu detached": (lambda mu, lv: mu.detach() + torch.exp(0.5 * lv) * torch.randn_like(mu),
                        "no gradient reaches mu"),
        "adds into mu in place": Wrong(_mu_in_place, "in place", absent=("flatten",)),
        "one eps per row": (_same_noise_per_row, "across the latent dimensions"),
        "rows repeat their noise": (_half_the_rows_repeat, "same noise"),
        "rsample": (lambda mu, lv: Normal(mu, torch.exp(0.5 * lv)).rsample(), "rsample()"),
        "rsample through Independent": (_independent_rsample, "rsample()"),
        "rsample with the variance": (lambda mu, lv: Normal(mu, lv.exp()).rsample(), "rsample()"),
    },
    styles={
        "float64": lambda mu, lv: mu.double() + torch.exp(0.5 * lv.double()) * torch.randn_like(
            mu, dtype=torch.float64),
        "eps from torch.distributions": lambda mu, lv: mu + torch.exp(0.5 * lv) * Normal(
            0.0, 1.0).sample(mu.shape),
        "eps from MultivariateNormal.sample": _eps_from_multivariate_sample,
        "sqrt of exp": lambda mu, lv: mu + torch.sqrt(torch.exp(lv)) * torch.randn_like(mu),
        "in place on a fresh tensor": lambda mu, lv: mu + lv.mul(0.5).exp() * torch.empty_like(
            mu).normal_(),
        "loop over dimensions": lambda mu, lv: torch.stack(
            [mu[:, j] + torch.exp(0.5 * lv[:, j]) * torch.randn(len(mu))
             for j in range(mu.shape[1])], dim=1),
    },
    leaks=LEAKS,
)

# ---------------------------------------------------------------- reparam_gradients


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


def _grad_on_callers_tensors(f, mu, logvar, n_samples=1000):
    mu.requires_grad_(True)
    logvar.requires_grad_(True)
    f(mu + torch.exp(0.5 * logvar) * torch.randn(n_samples, len(mu))).mean().backward()
    return mu.grad, logvar.grad


def _fixed_sample_count(f, mu, logvar, n_samples=1000):
    mu, logvar = mu.detach().requires_grad_(True), logvar.detach().requires_grad_(True)
    f(mu + torch.exp(0.5 * logvar) * torch.randn(1000, len(mu))).mean().backward()
    return mu.grad, logvar.grad


def _never_calls_f(f, mu, logvar, n_samples=1000):
    return 2 * (mu - torch.tensor([0.5, 0.0, -1.0])), torch.exp(logvar)


def _grad_autograd(f, mu, logvar, n_samples=1000):
    mu, logvar = mu.detach().requires_grad_(True), logvar.detach().requires_grad_(True)
    z = Normal(mu, torch.exp(0.5 * logvar)).rsample((n_samples,))  # (n, D)
    return torch.autograd.grad(f(z).mean(), (mu, logvar))


def _grad_chunks(f, mu, logvar, n_samples=1000):  # four chunks, f called on each
    mu, logvar = mu.clone().requires_grad_(True), logvar.clone().requires_grad_(True)
    total = 0
    for chunk in torch.randn(n_samples, len(mu)).chunk(4):
        total = total + f(mu + torch.exp(0.5 * logvar) * chunk).sum()
    (total / n_samples).backward()
    return mu.grad, logvar.grad


def _grad_float64(f, mu, logvar, n_samples=1000):
    mu = mu.double().requires_grad_(True)
    logvar = logvar.double().requires_grad_(True)
    f(mu + torch.exp(0.5 * logvar) * torch.randn(n_samples, len(mu), dtype=torch.float64)
      ).mean().backward()
    return mu.grad, logvar.grad


REPARAM_GRADIENTS = Cases(
    reference=grad_reference,
    wrong={
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
        "requires_grad_ on the caller's tensors": Wrong(
            _grad_on_callers_tensors, "requires_grad of the caller's `mu`", absent=("flatten",)),
        "ignores n_samples": (_fixed_sample_count, "1000 samples"),
        "never calls f": (_never_calls_f, "never calls f"),
    },
    styles={
        "autograd.grad and rsample": _grad_autograd,
        "loop over chunks": _grad_chunks,
        "float64": _grad_float64,
    },
)

CASES = {"reparameterize": REPARAMETERIZE, "reparam_gradients": REPARAM_GRADIENTS}


def test_the_exercises_of_notebook_03_in_order():
    assert [e.name for e in checks.exercises_for("03_reparameterization")] == list(CASES)
