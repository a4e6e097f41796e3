"""Checkers for the exercises of notebook 02_latent_irregularity.

``interpolate_codes(z_start, z_end, steps)`` is judged by its type, shape, endpoints,
order and even spacing on the straight line; ``nearest_distance(samples, codes)`` is
compared with the exact nearest-neighbour distances and, when it differs, with each
common slip (squared distances, the wrong axis, the farthest or the average code).
"""

from __future__ import annotations

import torch

from .core import Hint, as_double, call, checker, close, expect_tensor

NOTEBOOK = "02_latent_irregularity"

# ---------------------------------------------------------------- interpolate_codes

_Z_START = (1.0, -2.0, 0.5)
_Z_END = (-3.0, 4.0, 2.0)
_STEPS = 7


@checker("interpolate_codes", NOTEBOOK, needs=("interpolate_codes",),
         success="both endpoints, the order, the shape and the even spacing are right.")
def check_interpolate_codes(interpolate_codes) -> None:
    z_start, z_end = torch.tensor(_Z_START), torch.tensor(_Z_END)  # (3,) each
    dim = len(_Z_START)
    path = call(interpolate_codes, z_start, z_end, _STEPS)
    if isinstance(path, (list, tuple)):
        raise Hint(f"you returned a Python {type(path).__name__}: return one tensor of shape "
                   f"(steps, latent_dim), e.g. by stacking the rows (torch.stack) or, better, "
                   f"by computing all steps at once with broadcasting.")
    if isinstance(path, torch.Tensor) and tuple(path.shape) == (dim, _STEPS):
        raise Hint(f"the path has shape {(dim, _STEPS)}: it should have one row per step, "
                   f"shape (steps, latent_dim) = {(_STEPS, dim)}.")
    if isinstance(path, torch.Tensor) and path.dim() == 2 and path.shape[1] == dim \
            and len(path) != _STEPS:
        raise Hint(f"interpolate_codes(z_start, z_end, steps={_STEPS}) returned {len(path)} "
                   f"rows; expected {_STEPS}: `steps` counts every point of the path, both "
                   f"endpoints included.")
    path = expect_tensor(path, "the path", shape=(_STEPS, dim))
    if close(path[0], z_end) and close(path[-1], z_start):
        raise Hint("your path runs from z_end to z_start: it must start at z_start (t = 0) "
                   "and end at z_end (t = 1).")
    if not close(path[0], z_start):
        raise Hint("the first row should be z_start exactly (t = 0). Check the weights of "
                   "z_start and z_end: they must add up to 1 at every step.")
    if not close(path[-1], z_end):
        raise Hint("the last row should be z_end exactly (t = 1): include both endpoints, "
                   "and check that the weights of z_start and z_end add up to 1.")
    direction = as_double(z_end - z_start)  # (3,), in float64: the path may be float64 too
    offsets = as_double(path) - as_double(z_start)  # (steps, 3)
    t = offsets @ direction / direction.dot(direction)  # (steps,) position along the line
    if not close(offsets, t[:, None] * direction, atol=1e-4):
        raise Hint("the inner points leave the straight line between z_start and z_end: "
                   "every point should be a weighted average of the two endpoints.")
    if not close(t, torch.linspace(0, 1, _STEPS), atol=1e-4):
        raise Hint("the points are on the line but not evenly spaced: t should grow in "
                   "equal steps from 0 to 1.")
    pair = call(interpolate_codes, torch.zeros(2), torch.ones(2), 2)
    if isinstance(pair, torch.Tensor) and tuple(pair.shape) != (2, 2):
        raise Hint(f"for 2-D codes and steps = 2 your path has shape {tuple(pair.shape)}, "
                   f"expected (2, 2): take the number of steps and the size of the codes "
                   f"from the arguments, do not assume them.")
    pair = expect_tensor(pair, "interpolate_codes(zeros(2), ones(2), 2)", shape=(2, 2))
    if not close(pair, torch.tensor([[0.0, 0.0], [1.0, 1.0]])):
        raise Hint("with steps = 2 the path should be just the two endpoints: check the "
                   "case of only two steps (and 2-D codes).")


# ---------------------------------------------------------------- nearest_distance

_N, _M, _D = 6, 50, 2


def _points() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    samples = 3 * torch.randn(_N, _D, generator=g)  # (N, 2)
    codes = 2 * torch.randn(_M, _D, generator=g)  # (M, 2)
    return samples, codes


def _distances(samples: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """Every Euclidean distance, (N, M), in float64 from the differences themselves.

    Not torch.cdist: in float32 it computes |x|^2 + |c|^2 - 2 x.c with a matrix product,
    whose rounding changes with the machine and the number of threads.
    """
    diff = as_double(samples)[:, None, :] - as_double(codes)[None, :, :]  # (N, M, D)
    return diff.pow(2).sum(dim=2).sqrt()


def _same_distances(out: torch.Tensor, expected: torch.Tensor, samples: torch.Tensor,
                    codes: torch.Tensor) -> bool:
    """Whether ``out`` equals ``expected`` up to the rounding of a float32 torch.cdist.

    That rounding is a few float32 steps of |x|^2 + |c|^2 in the *squared* distance, and
    it depends on the orientation (cdist(codes, samples)), the chunks and the BLAS kernel
    that the thread count picks. Near 0 its square root is about 1e-3 in the distance, so
    squared distances are compared, with a tolerance on that scale (some 50 times the
    worst rounding seen, far below the gap between right and wrong answers here).
    """
    scale = as_double(samples).pow(2).sum(dim=1).max() + as_double(codes).pow(2).sum(dim=1).max()
    return close(as_double(out).pow(2), expected.pow(2), rtol=1e-4, atol=1e-5 * float(scale))


def _slips(samples: torch.Tensor, codes: torch.Tensor) -> list[tuple[torch.Tensor, str]]:
    d = _distances(samples, codes)  # (N, M) Euclidean distances
    l1 = (as_double(samples)[:, None, :] - as_double(codes)[None, :, :]).abs().sum(dim=2)
    return [
        (d.amin(dim=1).pow(2),
         "your distances are squared: take the square root to get Euclidean distances."),
        (d.amax(dim=1),
         "you returned the distance to the *farthest* code: take the nearest one."),
        (d.mean(dim=1),
         "you returned the average distance to all codes: take the nearest one."),
        (l1.amin(dim=1),
         "you used the sum of absolute differences (the L1 distance): use the Euclidean "
         "distance, the square root of the sum of squared differences."),
    ]


@checker("nearest_distance", NOTEBOOK, needs=("nearest_distance",),
         success="one Euclidean distance per sample, to its nearest code.")
def check_nearest_distance(nearest_distance) -> None:
    samples, codes = _points()
    out = call(nearest_distance, samples, codes)
    if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], torch.Tensor) \
            and not out[1].is_floating_point():
        raise Hint("you returned a pair, the values of the minimum and the indices where it "
                   "is reached: return the distances only (the values), one tensor of "
                   "shape (N,).")
    if isinstance(out, (list, tuple)):
        raise Hint(f"you returned a Python {type(out).__name__}: return one tensor of shape "
                   f"(N,), computed for all samples at once (torch.cdist or broadcasting).")
    if isinstance(out, torch.Tensor) and not out.is_floating_point():
        raise Hint(f"your result has dtype {out.dtype}: those are indices of the nearest "
                   f"codes. Return the distances themselves (values, not positions).")
    if isinstance(out, torch.Tensor):
        shape = tuple(out.shape)
        if shape == (_M,):
            raise Hint(f"your result has shape ({_M},), one value per code: take the "
                       f"minimum over the codes, so that each sample gets one distance "
                       f"(shape (N,) = ({_N},)).")
        if shape in ((_N, _M), (_M, _N)):
            raise Hint(f"your result has shape {shape}, every pairwise distance: keep only "
                       f"the nearest code's distance for each sample.")
        if out.numel() == 1:
            raise Hint("your result is a single number: return one distance per sample "
                       "(do not average or sum them).")
    out = expect_tensor(out, "the distances", shape=(_N,))
    if not _same_distances(out, _distances(samples, codes).amin(dim=1), samples, codes):
        for slip, hint in _slips(samples, codes):
            if _same_distances(out, slip, samples, codes):
                raise Hint(hint)
        raise Hint("your distances differ from the distance of each sample to its nearest "
                   "code: compare every sample with every code, in all latent dimensions.")
    big = call(nearest_distance, torch.zeros(3, 5), torch.ones(4, 5))  # 5-D codes
    big = expect_tensor(big, "nearest_distance on 5-D codes", shape=(3,))
    if not close(big, torch.full((3,), 5 ** 0.5)):
        raise Hint("your function is right for 2-D codes but not for 5-D ones: do not "
                   "assume two latent dimensions.")
    # Samples that coincide with a code (distance 0), one of them twice.
    on_codes = torch.cat([codes[:2], codes[1:2], samples[:1]])  # (4, 2)
    near = expect_tensor(call(nearest_distance, on_codes, codes), "the distances", shape=(4,))
    expected = _distances(on_codes, codes).amin(dim=1)  # (4,): 0, 0, 0, then a positive one
    if not _same_distances(near, expected, on_codes, codes):
        raise Hint("your distances are wrong for samples that coincide with a code: their "
                   "nearest code is at distance 0, and that zero is the minimum to return "
                   "(do not skip or replace zero distances).")
