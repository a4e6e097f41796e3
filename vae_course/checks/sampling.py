"""Checkers for the exercises of notebook 05_sampling_and_interpolation.

``sample_prior(n, latent_dim, generator=None)`` is judged by the statistics of many
samples (mean, spread, share within one standard deviation, correlation between
dimensions) and by how it uses the generator; ``interpolate(z0, z1, steps)`` by its
endpoints, order, shape and even spacing on the straight line.
"""

from __future__ import annotations

import torch

from .core import Hint, as_double, call, call_traced, checker, close, expect_tensor

NOTEBOOK = "05_sampling_and_interpolation"

_N, _DIM = 20_000, 4
_WITHIN_ONE_SIGMA = 0.6827  # P(|z| < 1) for a standard normal


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _check_statistics(z: torch.Tensor) -> None:
    mean, std = z.mean().item(), z.std().item()
    if -0.05 < z.min().item() and z.max().item() < 1.05 and abs(mean - 0.5) < 0.05:
        raise Hint("your samples all lie between 0 and 1, like uniform noise (torch.rand). "
                   "The prior is a standard normal distribution, N(0, I).")
    if abs(mean) > 0.05:
        raise Hint(f"the mean of your samples is {mean:.2f}; the prior N(0, I) has mean 0.")
    if abs(std - 1) > 0.05:
        raise Hint(f"the standard deviation of your samples is {std:.2f}; the prior N(0, I) "
                   f"has standard deviation 1 in every dimension. Check the scale.")
    within = (z.abs() < 1).float().mean().item()
    if abs(within - _WITHIN_ONE_SIGMA) > 0.02:
        raise Hint(f"{within:.0%} of your values lie within one standard deviation of 0, where "
                   f"a normal distribution has about 68%: the samples have mean 0 and spread 1 "
                   f"but are not normally distributed.")
    corr = torch.corrcoef(z.T)  # (D, D)
    off_diagonal = (corr - torch.eye(len(corr))).abs().max().item()
    if off_diagonal > 0.1:
        raise Hint("the latent dimensions of your samples are correlated (or copies of each "
                   "other): under N(0, I) every dimension is drawn independently.")


@checker("sample_prior", NOTEBOOK, needs=("sample_prior",),
         success="shape, distribution and use of the generator are right.")
def check_sample_prior(sample_prior) -> None:
    run = call_traced(sample_prior, _N, _DIM, generator=_gen(0))
    z = run.out
    if isinstance(z, torch.Tensor) and tuple(z.shape) == (_DIM, _N):
        raise Hint(f"your samples have shape {(_DIM, _N)}: rows are samples, so the shape "
                   f"should be (n, latent_dim) = {(_N, _DIM)}.")
    if isinstance(z, torch.Tensor) and tuple(z.shape) != (_N, _DIM):
        raise Hint(f"sample_prior({_N}, {_DIM}) returned shape {tuple(z.shape)}; expected "
                   f"(n, latent_dim) = {(_N, _DIM)}.")
    z = expect_tensor(z, "the samples", shape=(_N, _DIM))
    if z.dtype != torch.float32:
        raise Hint(f"your samples have dtype {z.dtype}; the docstring asks for float32, the "
                   f"dtype of the decoder's weights: do not convert them.")
    _check_statistics(as_double(z))
    if not run.generator_used.get("generator"):
        raise Hint("your function ignores the generator it is given: draw the noise from it "
                   "(the `generator=` argument of torch's random functions), not from the "
                   "global random stream, even one seeded from the generator.")

    same = expect_tensor(call(sample_prior, _N, _DIM, generator=_gen(0)), "the samples")
    other = expect_tensor(call(sample_prior, _N, _DIM, generator=_gen(1)), "the samples")
    if not close(z, same, rtol=0, atol=0) or close(z, other, rtol=0, atol=0):
        raise Hint("your function ignores the generator: the same generator seed must give "
                   "the same samples, and a different seed different ones. Pass it to the "
                   "torch function that draws the noise (its `generator=` argument).")
    first = expect_tensor(call(sample_prior, 8, _DIM), "the samples", shape=(8, _DIM))
    second = expect_tensor(call(sample_prior, 8, _DIM), "the samples", shape=(8, _DIM))
    if close(first, second, rtol=0, atol=0):
        raise Hint("without a generator, two calls returned the same samples: do not seed "
                   "inside the function; draw fresh noise from the global generator.")


@checker("interpolate", NOTEBOOK, needs=("interpolate",),
         success="both endpoints, the order, the shape and the even spacing are right.")
def check_interpolate(interpolate) -> None:
    z0 = torch.tensor([1.0, -2.0, 0.5])
    z1 = torch.tensor([-1.0, 3.0, 2.5])
    steps = 7
    path = call(interpolate, z0, z1, steps)
    if isinstance(path, torch.Tensor) and tuple(path.shape) == (3, steps):
        raise Hint(f"your path has shape {(3, steps)}: one row per step, so the shape should "
                   f"be (steps, latent_dim) = {(steps, 3)}.")
    if isinstance(path, torch.Tensor) and path.dim() == 2 and path.shape[1] == 3 \
            and path.shape[0] != steps:
        raise Hint(f"interpolate(z0, z1, {steps}) returned {path.shape[0]} rows: return exactly "
                   f"`steps` rows, counting both endpoints.")
    path = expect_tensor(path, "the path", shape=(steps, 3))
    if close(path[0], z1) and close(path[-1], z0):
        raise Hint("your path runs from z1 to z0: the first row should be z0 and the last z1.")
    if not close(path[0], z0):
        raise Hint("the first row of the path should be exactly z0 (weight 0 on z1).")
    if not close(path[-1], z1):
        raise Hint("the last row of the path should be exactly z1: include both endpoints "
                   "(the weights run from 0 to 1 inclusive).")
    direction = as_double(z1 - z0)  # in float64: the path may be float64 too
    offsets = as_double(path) - as_double(z0)  # (steps, 3)
    t = (offsets @ direction) / direction.dot(direction)  # (steps,) position along the line
    if not close(offsets, t[:, None] * direction, atol=1e-4):
        raise Hint("the rows of your path leave the straight line between z0 and z1: this "
                   "exercise is linear interpolation, so every row lies on the segment "
                   "from z0 to z1.")
    if not close(t, torch.linspace(0, 1, steps), atol=1e-4):
        raise Hint("the steps are not evenly spaced: the weights t should go from 0 to 1 in "
                   "equal steps.")
    two = expect_tensor(call(interpolate, z0, z1, 2), "the path", shape=(2, 3))
    if not close(two, torch.stack([z0, z1])):
        raise Hint("with steps = 2 the path should be just [z0, z1].")
