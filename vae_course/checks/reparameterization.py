"""Checkers for the exercises of notebook 03_reparameterization.

``reparameterize(mu, logvar)`` is run on a large batch whose rows all share the same
``mu`` and ``logvar``, so the sample mean and spread of each column can be compared
with ``mu`` and ``exp(0.5 * logvar)``; then gradients are pushed back through it. The
exercise is to write the trick, so an answer that lets ``rsample()`` of
``torch.distributions`` draw z (the notebook shows it just above) fails with a hint.
``reparam_gradients(f, mu, logvar, n_samples)`` is compared with the exact gradients
of E[f(z)] for an objective whose expectation is known in closed form.
"""

from __future__ import annotations

import torch
import torch.distributions as distributions

from .core import Hint, describe, as_double, call, call_traced, checker, close, expect_tensor

NOTEBOOK = "03_reparameterization"

# Fixed inputs: three latent dimensions with a positive, a negative and a zero logvar.
_MU = (0.5, -1.0, 2.0)
_LOGVAR = (0.0, -2.0, 1.0)
_ROWS = 20_000  # enough samples for the statistics to be decisive (standard error < 1%)


def _inputs(rows: int = _ROWS) -> tuple[torch.Tensor, torch.Tensor]:
    mu = torch.tensor(_MU).repeat(rows, 1).requires_grad_(True)  # (rows, 3)
    logvar = torch.tensor(_LOGVAR).repeat(rows, 1).requires_grad_(True)  # (rows, 3)
    return mu, logvar


def _matches(spread: torch.Tensor, target: torch.Tensor, rtol: float = 0.05) -> bool:
    return bool(((spread - target).abs() <= rtol * target.abs() + 1e-3).all())


def _check_spread(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> None:
    """Compare the column means and standard deviations of z with mu and the true std."""
    std = torch.exp(0.5 * logvar[0]).detach()  # (3,)
    mean, spread = z.mean(dim=0), z.std(dim=0)  # (3,) each
    if bool((spread < 1e-6).all()):
        if close(z - mu, std.expand_as(z)):
            raise Hint("z - mu equals the standard deviation in every row: eps is a constant "
                       "(ones?). eps must be random noise drawn from a standard normal.")
        raise Hint("every row of z is the same although all rows share mu and logvar: "
                   "draw a separate, random eps for every entry of mu, not one for the "
                   "whole batch.")
    if _matches(spread, torch.exp(logvar[0]).detach()):
        raise Hint("the spread of your samples matches exp(logvar), which is the *variance*. "
                   "The noise must be scaled by the standard deviation, the square root "
                   "of the variance.")
    if _matches(spread, logvar[0].detach().abs()):
        raise Hint("the spread of your samples matches logvar itself. logvar is the log of "
                   "the variance (it can be negative): turn it into a standard deviation "
                   "before you scale the noise.")
    uniform = _matches(spread, std / 12 ** 0.5)
    if uniform or close(mean, mu[0] + 0.5 * std, rtol=0.05, atol=0.03):
        raise Hint("your samples look uniformly distributed: eps must come from a standard "
                   "normal distribution (torch.randn...), not from torch.rand...")
    if not _matches(spread, std):
        ratio = ", ".join(f"{r:.2f}" for r in (spread / std).tolist())
        raise Hint(f"the spread of z around mu is off by the factors ({ratio}) per dimension "
                   f"(logvar = {list(_LOGVAR)}): check how you compute the standard deviation "
                   f"from logvar.")
    tolerance = 5 * std / _ROWS ** 0.5 + 1e-3
    if not bool(((mean - mu[0].detach()).abs() <= tolerance).all()):
        raise Hint("the mean of your samples is not mu: z should be centred on mu "
                   "(did you forget to add mu, or add something else?).")


def _check_independence(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> None:
    """The noise of different latent dimensions, and of different rows, must be independent."""
    eps = (z - mu) / torch.exp(0.5 * logvar)  # (rows, 3): the standard normal noise drawn
    corr = torch.corrcoef(eps.T)  # (3, 3)
    if bool(((corr - torch.eye(len(corr))).abs() > 0.1).any()):
        raise Hint("the noise is the same (or correlated) across the latent dimensions of a "
                   "row: every entry of z needs its own, independent eps, so eps must have "
                   "the shape of mu.")
    if len(torch.unique(eps, dim=0)) < 0.99 * len(eps):
        raise Hint("several rows of z were drawn with the same noise: every row needs its "
                   "own, independent eps, so eps must have the shape of mu.")


def _rsample_methods() -> dict[type, object]:
    """Every ``rsample`` that a distribution class of ``torch.distributions`` defines itself."""
    return {cls: vars(cls)["rsample"] for cls in vars(distributions).values()
            if isinstance(cls, type) and issubclass(cls, distributions.Distribution)
            and "rsample" in vars(cls)}


def _uses_rsample(reparameterize, mu: torch.Tensor, logvar: torch.Tensor) -> bool:
    """Whether ``reparameterize(mu, logvar)`` draws with ``rsample()`` of torch.distributions.

    Runs in the student's kernel (through :func:`call`), with every distribution's
    ``rsample`` wrapped so that a call with gradients on is noted; ``sample()``, which
    some distributions implement as ``rsample()`` under ``torch.no_grad()``, is not.
    """
    used = []
    methods = _rsample_methods()

    def spy(original):
        def rsample(self, *args, **kwargs):
            if torch.is_grad_enabled():
                used.append(type(self).__name__)
            return original(self, *args, **kwargs)
        return rsample

    try:
        for cls, original in methods.items():
            setattr(cls, "rsample", spy(original))
        reparameterize(mu, logvar)
    finally:
        for cls, original in methods.items():
            setattr(cls, "rsample", original)
    return bool(used)


@checker("reparameterize", NOTEBOOK, needs=("reparameterize",),
         success="shape, mean, spread and gradients are right, and every call draws new noise.")
def check_reparameterize(reparameterize) -> None:
    mu, logvar = _inputs()
    torch.manual_seed(0)
    run = call_traced(reparameterize, mu, logvar, backward=lambda out: out)  # z.sum() backward
    if call(_uses_rsample, reparameterize, *_inputs()):
        raise Hint("your z comes from rsample() of torch.distributions, which does the trick "
                   "for you: this exercise is to write it. Build z yourself from mu, a standard "
                   "deviation computed from logvar, and standard normal noise (the grader gives "
                   "no credit to rsample()).")
    z = run.out
    if isinstance(z, torch.Tensor) and z.is_floating_point() and bool(torch.isnan(z).any()):
        raise Hint("z contains NaN: logvar can be negative, and the square root of a negative "
                   "number is NaN. Use a function of logvar that is defined for every real "
                   "number.")
    if isinstance(z, torch.Tensor) and tuple(z.shape) != tuple(mu.shape):
        raise Hint(f"z has shape {tuple(z.shape)}, expected {tuple(mu.shape)} (the shape of "
                   f"mu): one sample per entry of mu, so eps needs the shape of mu.")
    z = expect_tensor(z, "z", shape=tuple(mu.shape))
    if close(z, mu, rtol=0, atol=0):
        raise Hint("z is exactly mu: no noise was added, so this is not a sample.")
    if not z.requires_grad:
        raise Hint("z carries no gradient: it is cut off from mu and logvar (.sample(), "
                   ".detach(), torch.no_grad() or a NumPy round trip do that). Build z from "
                   "mu and logvar with differentiable torch operations.")
    _check_spread(as_double(z), as_double(mu), as_double(logvar))
    _check_independence(as_double(z), as_double(mu), as_double(logvar))

    torch.manual_seed(0)
    again = call(reparameterize, mu, logvar)  # same global seed: a sample drawn from it repeats
    fresh = call(reparameterize, mu, logvar)  # no re-seeding: must differ
    if isinstance(fresh, torch.Tensor) and close(fresh, again, rtol=0, atol=0):
        raise Hint("two calls in a row returned the same z: eps must be fresh random noise "
                   "on every call (do not seed inside the function or reuse a stored eps).")

    # The recorded call back-propagated z.sum() to (its copies of) mu and logvar.
    grad = {"mu": run.grads.get(0), "logvar": run.grads.get(1)}
    for name in ("mu", "logvar"):
        if grad[name] is None or not bool(grad[name].abs().sum() > 0):
            raise Hint(f"no gradient reaches {name}: z must be computed from {name} with torch "
                       f"operations, without detaching any part of it.")
    eps_part = as_double(z) - as_double(mu)  # = std * eps
    if not close(grad["mu"], torch.ones_like(mu)):
        raise Hint("the gradient of z with respect to mu should be 1 for every entry: z must "
                   "depend on mu only through adding it.")
    if not close(grad["logvar"], 0.5 * eps_part, rtol=1e-3, atol=1e-4):
        raise Hint("the gradient reaching logvar is not the one of a standard deviation "
                   "computed from logvar: check how std is computed from logvar.")


# reparam_gradients: E[sum_j (z_j - c_j)^2] = sum_j (mu_j - c_j)^2 + exp(logvar_j), so
# d/dmu = 2 (mu - c) and d/dlogvar = exp(logvar) exactly.
_C = torch.tensor([0.5, 0.0, -1.0])
_GMU = torch.tensor([1.0, -2.0, 0.5])
_GLOGVAR = torch.tensor([0.0, -1.0, 0.5])
_SAMPLES = 20_000


def _objective(z: torch.Tensor) -> torch.Tensor:
    return (z - _C.to(z.dtype)).pow(2).sum(dim=-1)  # (n_samples,)


def _samples_used(calls: list[tuple]) -> int:
    """How many samples z the student's function passed to f, over all its calls."""
    used = 0
    for shapes in calls:
        shape = shapes[0] if shapes else None
        if shape is not None:
            rows = 1
            for n in shape[:-1]:
                rows *= n
            used += rows
    return used


@checker("reparam_gradients", NOTEBOOK, needs=("reparam_gradients",),
         success="your Monte-Carlo gradients agree with the exact ones.")
def check_reparam_gradients(reparam_gradients) -> None:
    torch.manual_seed(0)
    run = call_traced(reparam_gradients, _objective, _GMU, _GLOGVAR, _SAMPLES)
    out = run.out
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        if out is None:
            raise Hint("the function returned None: return the pair (grad_mu, grad_logvar).")
        what = f"{len(out)} values" if isinstance(out, (tuple, list)) else describe(out)
        raise Hint(f"return a pair (grad_mu, grad_logvar); got {what}.")
    exact = {"grad_mu": 2 * (_GMU - _C).double(), "grad_logvar": torch.exp(_GLOGVAR).double()}
    for name, value in zip(exact, out):
        if value is None:
            raise Hint(f"{name} is None: make mu and logvar leaves that require gradients "
                       f"(.requires_grad_()), build z from them, then call .backward() on "
                       f"the scalar Monte-Carlo average.")
        expect_tensor(value, name, shape=(3,))
    used = _samples_used(run.spied.get(0, []))
    if used == 0:
        raise Hint("your function never calls f: the gradients are those of the average of "
                   "f(z) over the samples z.")
    if used != _SAMPLES:
        raise Hint(f"f was evaluated on {used} samples in all, but n_samples = {_SAMPLES}: "
                   f"draw exactly n_samples samples (take the number from the argument).")
    grad_mu, grad_logvar = (as_double(v) for v in out)
    if close(grad_mu, _SAMPLES * exact["grad_mu"], rtol=0.05, atol=0.05 * _SAMPLES):
        raise Hint(f"grad_mu is about n_samples ({_SAMPLES}) times too large: average f over "
                   f"the samples instead of summing.")
    if not close(grad_mu, exact["grad_mu"], rtol=0.05, atol=0.05):
        raise Hint("grad_mu does not match the exact gradient of E[f(z)]: check that z is a "
                   "reparameterized sample of N(mu, exp(logvar)) and that you average f(z) "
                   "over the samples before calling .backward().")
    if bool((grad_logvar.abs() < 1e-6).all()):
        raise Hint("grad_logvar is zero: your samples do not depend on logvar.")
    if not close(grad_logvar, exact["grad_logvar"], rtol=0.05, atol=0.05):
        raise Hint("grad_logvar does not match the exact gradient: check how the noise is "
                   "scaled by the standard deviation computed from logvar (and that you take "
                   "the gradient with respect to logvar, not std).")
