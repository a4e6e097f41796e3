"""The checkers of notebook 02 (vae_course/checks/latent.py): their test data, and the
nearest_distance verdict across cdist's orientations, chunks and thread counts.
"""

import numpy as np
import pytest
import torch

from vae_course import checks
from vae_course.checks import latent as latent_checks
from vae_course.checks.core import replayed

from .cases import Cases, Wrong

LEAKS = ("reduction=", "linspace(0, 1", "(1 - t) *", "cdist(", ".sum(dim=1).mean()")

# ---------------------------------------------------------------- interpolate_codes


def lerp_reference(z_start, z_end, steps):
    t = torch.linspace(0, 1, steps)[:, None]  # (steps, 1)
    return (1 - t) * z_start + t * z_end


def _loop_list(z0, z1, steps):
    return [z0 + (z1 - z0) * i / (steps - 1) for i in range(steps)]


def _loop_stacked(z0, z1, steps):  # a loop is fine as long as it returns one tensor
    return torch.stack(_loop_list(z0, z1, steps))


def _lerp_fresh_in_place(z_start, z_end, steps):
    path = z_start.repeat(steps, 1)  # (steps, D), a new tensor
    path += torch.linspace(0, 1, steps)[:, None] * (z_end - z_start)
    return path


def _advance_start(z_start, z_end, steps):
    rows, step = [], (z_end - z_start) / (steps - 1)
    for _ in range(steps):
        rows.append(z_start.clone())
        z_start += step  # walks the caller's tensor along the path
    return torch.stack(rows)


INTERPOLATE_CODES = Cases(
    reference=lerp_reference,
    wrong={
        "reversed t": (lambda z0, z1, s: lerp_reference(z1, z0, s), "from z_end to z_start"),
        "wrong endpoint weights": (lambda z0, z1, s: z0 + torch.linspace(0, 1, s)[:, None] * z1,
                                   "last row should be z_end"),
        "t from 0 to 1 exclusive": (lambda z0, z1, s: (lambda t: (1 - t) * z0 + t * z1)(
            torch.arange(s)[:, None] / s), "last row should be z_end"),
        "skips the start": (lambda z0, z1, s: (lambda t: (1 - t) * z0 + t * z1)(
            torch.arange(1, s + 1)[:, None] / s), "first row should be z_start"),
        "one step too many": (lambda z0, z1, s: lerp_reference(z0, z1, s + 1), "returned 8 rows"),
        "transposed": (lambda z0, z1, s: lerp_reference(z0, z1, s).T, "one row per step"),
        "flattened": (lambda z0, z1, s: lerp_reference(z0, z1, s).flatten(), "expected (7, 3)"),
        "loop returning a list": (_loop_list, "Python list"),
        "uneven steps": (lambda z0, z1, s: (lambda t: (1 - t) * z0 + t * z1)(
            torch.linspace(0, 1, s)[:, None] ** 2), "not evenly spaced"),
        "off the line": (lambda z0, z1, s: lerp_reference(z0, z1, s) + torch.sin(
            torch.linspace(0, torch.pi, s))[:, None], "leave the straight line"),
        "numpy": (lambda z0, z1, s: np.linspace(z0.numpy(), z1.numpy(), s), "NumPy"),
        "returns None": (lambda z0, z1, s: None, "None"),
        "hard-coded for 3-D codes": (lambda z0, z1, s: lerp_reference(z0, z1, s)
                                     if len(z0) == 3 else torch.zeros(s, 3), "do not assume them"),
        "right shape only for 3-D codes": (lambda z0, z1, s: lerp_reference(z0, z1, s)
                                           if len(z0) == 3 else torch.zeros(s, 2),
                                           "only two steps"),
        "advances z_start in place": Wrong(_advance_start, "changed `z_start` in place",
                                           absent=("flatten",)),
    },
    styles={
        "loop, stacked": _loop_stacked,
        "float64 t from numpy": lambda z0, z1, s: (lambda t: (1 - t) * z0 + t * z1)(
            torch.tensor(np.linspace(0, 1, s))[:, None]),
        "float64 linspace": lambda z0, z1, s: (lambda t: (1 - t) * z0 + t * z1)(
            torch.linspace(0, 1, s, dtype=torch.float64)[:, None]),
        "torch.lerp": lambda z0, z1, s: torch.lerp(z0, z1, torch.linspace(0, 1, s)[:, None]),
        "in place on a fresh tensor": _lerp_fresh_in_place,
        "loop": lambda z0, z1, s: torch.stack([z0 + (z1 - z0) * i / (s - 1) for i in range(s)]),
    },
    leaks=LEAKS,
)

# ---------------------------------------------------------------- nearest_distance


def nearest_reference(samples, codes):
    return torch.cdist(samples, codes).amin(dim=1)  # (N,)


def _broadcast(samples, codes):  # another right way
    return (samples[:, None, :] - codes[None, :, :]).pow(2).sum(dim=2).sqrt().min(dim=1).values


def _nearest_in_place_sqrt(samples, codes):
    d = (samples[:, None, :] - codes[None, :, :]).pow(2).sum(dim=2)
    d.sqrt_()
    return d.amin(dim=1)


def _scale_codes_in_place(samples, codes):
    codes *= 1.0001
    return torch.cdist(samples, codes).amin(dim=1)


def _zero_to_infinity(samples, codes):
    d = torch.cdist(samples, codes)
    d[d == 0] = float("inf")
    return d.amin(dim=1)


def _skip_exact_matches(samples, codes):
    d = torch.cdist(samples, codes)
    return torch.where(d > 0, d, d.max()).amin(dim=1)


def _codes_by_samples(samples, codes):  # the other orientation: (M, N), minimum over dim 0
    return torch.cdist(codes, samples).min(0).values


def _sample_chunks(size: int, transposed: bool = False):
    def nearest_distance(samples, codes):
        if transposed:
            return torch.cat([torch.cdist(codes, part).min(0).values
                              for part in samples.split(size)])
        return torch.cat([torch.cdist(part, codes).amin(dim=1) for part in samples.split(size)])
    return nearest_distance


def _code_chunks(size: int, transposed: bool = False):  # the minimum over chunks of the codes
    def nearest_distance(samples, codes):
        if transposed:
            parts = [torch.cdist(part, samples).min(0).values for part in codes.split(size)]
        else:
            parts = [torch.cdist(samples, part).amin(dim=1) for part in codes.split(size)]
        return torch.stack(parts).min(0).values
    return nearest_distance


# torch.cdist in float32 with more than 25 points on a side uses a matrix product, whose
# rounding depends on the orientation, the chunks and the thread count.
CDIST_STYLES = {
    "cdist(codes, samples).min(0).values": _codes_by_samples,
    "cdist(codes, samples).amin(dim=0)": lambda s, c: torch.cdist(c, s).amin(dim=0),
    "cdist(codes, samples), matrix product forced": lambda s, c: torch.cdist(
        c, s, compute_mode="use_mm_for_euclid_dist").min(0).values,
    "cdist(samples, codes), matrix product forced": lambda s, c: torch.cdist(
        s, c, compute_mode="use_mm_for_euclid_dist").amin(dim=1),
    "cdist(codes, samples), no matrix product": lambda s, c: torch.cdist(
        c, s, compute_mode="donot_use_mm_for_euclid_dist").min(0).values,
    **{f"samples in chunks of {k}": _sample_chunks(k) for k in (1, 2, 4)},
    **{f"samples in chunks of {k}, codes by samples": _sample_chunks(k, True) for k in (1, 2, 4)},
    **{f"codes in chunks of {k}": _code_chunks(k) for k in (10, 25, 30)},
    **{f"codes in chunks of {k}, codes by samples": _code_chunks(k, True) for k in (10, 25, 30)},
}

NEAREST_DISTANCE = Cases(
    reference=nearest_reference,
    wrong={
        "squared distances": (lambda s, c: torch.cdist(s, c).pow(2).amin(dim=1), "squared"),
        "min over the samples": (lambda s, c: torch.cdist(s, c).amin(dim=0), "one value per code"),
        "argmin": (lambda s, c: torch.cdist(s, c).argmin(dim=1), "indices"),
        "min returns a pair": Wrong(lambda s, c: torch.cdist(s, c).min(dim=1),
                                    "the values of the minimum and the indices",
                                    absent=("Python min",)),
        "farthest": (lambda s, c: torch.cdist(s, c).amax(dim=1), "farthest"),
        "average distance": (lambda s, c: torch.cdist(s, c).mean(dim=1), "average distance"),
        "L1 distance": (lambda s, c: torch.cdist(s, c, p=1).amin(dim=1), "L1"),
        "all pairwise distances": (lambda s, c: torch.cdist(s, c), "every pairwise distance"),
        "averaged to one number": (lambda s, c: nearest_reference(s, c).mean(), "single number"),
        "loop returning a list": (lambda s, c: [torch.cdist(p[None], c).min() for p in s],
                                  "Python list"),
        "numpy": (lambda s, c: nearest_reference(s, c).numpy(), "NumPy"),
        "returns None": (lambda s, c: None, "None"),
        "only the first dimension": (lambda s, c: torch.cdist(s[:, :1], c[:, :1]).amin(dim=1),
                                     "all latent dimensions"),
        "assumes 2-D codes": (lambda s, c: torch.cdist(s[:, :2], c[:, :2]).amin(dim=1),
                              "not for 5-D ones"),
        "scales the codes in place": Wrong(_scale_codes_in_place, "changed `codes` in place",
                                           absent=("flatten",)),
        "zero distances to infinity": (_zero_to_infinity, "coincide with a code"),
        "skips exact matches": (_skip_exact_matches, "coincide with a code"),
    },
    styles={
        "broadcasting, min values": _broadcast,
        "float64": lambda s, c: torch.cdist(s.double(), c.double()).amin(dim=1),
        "loop over samples": lambda s, c: torch.stack([(c - p).norm(dim=1).min() for p in s]),
        "vector_norm and min": lambda s, c: torch.linalg.vector_norm(
            s[:, None] - c[None], dim=-1).min(dim=1).values,
        "in place on a fresh tensor": _nearest_in_place_sqrt,
        **CDIST_STYLES,
    },
    leaks=LEAKS,
)

CASES = {"interpolate_codes": INTERPOLATE_CODES, "nearest_distance": NEAREST_DISTANCE}


def test_the_exercises_of_notebook_02_in_order():
    assert [e.name for e in checks.exercises_for("02_latent_irregularity")] == list(CASES)


@pytest.fixture
def threads():
    """Set torch's number of threads in a test; the number it had comes back afterwards."""
    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)


@pytest.mark.parametrize("style", CDIST_STYLES)
def test_the_nearest_distance_verdict_does_not_depend_on_the_thread_count(style, threads):
    check, fn = latent_checks.check_nearest_distance, CDIST_STYLES[style]
    exercise = checks.EXERCISES["nearest_distance"]
    for n in (1, 2):
        threads(n)
        assert check(fn).passed, (n, check(fn))
        assert replayed(check, fn).passed
    # the kernel and the grader may run with other thread counts
    threads(1)
    record = exercise.record_in({"nearest_distance": fn})
    threads(2)
    assert exercise.replay(record).passed
