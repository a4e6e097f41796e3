"""The checkers of notebook 05 (vae_course/checks/sampling.py): their test data."""

import numpy as np
import torch

from vae_course import checks

from .cases import Cases, Wrong

LEAKS = ("exp(0.5", "randn_like", "torch.randn(")

# ---------------------------------------------------------------- sample_prior


def prior_reference(n, latent_dim, generator=None):
    return torch.randn(n, latent_dim, generator=generator)


def _reseeds_global(n, latent_dim, generator=None):
    if generator is not None:
        torch.manual_seed(generator.initial_seed())
    return torch.randn(n, latent_dim)


def _fresh_generator_from_seed(n, latent_dim, generator=None):
    if generator is not None:
        generator = torch.Generator().manual_seed(generator.initial_seed())
    return torch.randn(n, latent_dim, generator=generator)


def _box_muller(n, latent_dim, generator=None):
    u1 = torch.rand(n, latent_dim, generator=generator).clamp_min(1e-12)
    u2 = torch.rand(n, latent_dim, generator=generator)
    return torch.sqrt(-2 * torch.log(u1)) * torch.cos(2 * torch.pi * u2)


SAMPLE_PRIOR = Cases(
    reference=prior_reference,
    wrong={
        "uniform": (lambda n, d, generator=None: torch.rand(n, d, generator=generator),
                    "uniform"),
        "uniform with unit spread": (lambda n, d, generator=None: (torch.rand(
            n, d, generator=generator) - 0.5) * 12 ** 0.5, "not normally distributed"),
        "transposed": (lambda n, d, generator=None: torch.randn(d, n, generator=generator),
                       "rows are samples"),
        "wrong shape": (lambda n, d, generator=None: torch.randn(n, generator=generator),
                        "expected (n, latent_dim)"),
        "ignores generator": (lambda n, d, generator=None: torch.randn(n, d),
                              "ignores the generator"),
        "seeded inside": (lambda n, d, generator=None: torch.randn(
            n, d, generator=generator or torch.Generator().manual_seed(0)), "without a generator"),
        "scale 2": (lambda n, d, generator=None: 2 * torch.randn(n, d, generator=generator),
                    "Check the scale"),
        "variance 1/2": (lambda n, d, generator=None: 0.5 * torch.randn(
            n, d, generator=generator), "Check the scale"),
        "shifted": (lambda n, d, generator=None: 1 + torch.randn(n, d, generator=generator),
                    "mean 0"),
        "copied dimensions": (lambda n, d, generator=None: torch.randn(
            n, 1, generator=generator).repeat(1, d), "correlated"),
        "numpy": (lambda n, d, generator=None: np.random.default_rng(0).standard_normal((n, d)),
                  "NumPy"),
        "integers": (lambda n, d, generator=None: torch.randint(
            -2, 3, (n, d), generator=generator), "floating-point"),
        "float64": (lambda n, d, generator=None: torch.randn(
            n, d, generator=generator, dtype=torch.float64), "float32"),
        "re-seeds the global generator": (_reseeds_global, "ignores the generator"),
        "a new generator from the seed": (_fresh_generator_from_seed, "ignores the generator"),
    },
    styles={
        "normal_ on a fresh tensor": lambda n, d, generator=None: torch.empty(n, d).normal_(
            generator=generator),
        "torch.normal": lambda n, d, generator=None: torch.normal(
            0.0, 1.0, size=(n, d), generator=generator),
        "loop over rows": lambda n, d, generator=None: torch.stack(
            [torch.randn(d, generator=generator) for _ in range(n)]),
        "Box-Muller": _box_muller,
    },
    leaks=LEAKS,
)

# ---------------------------------------------------------------- interpolate


def lerp_reference(z0, z1, steps):
    t = torch.linspace(0, 1, steps)[:, None]  # (steps, 1)
    return (1 - t) * z0 + t * z1


def _slerp(z0, z1, steps):
    t = torch.linspace(0, 1, steps)[:, None]
    omega = torch.arccos((z0 / z0.norm()).dot(z1 / z1.norm()))
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def _advance_start(z_start, z_end, steps):
    rows, step = [], (z_end - z_start) / (steps - 1)
    for _ in range(steps):
        rows.append(z_start.clone())
        z_start += step  # walks the caller's tensor along the path
    return torch.stack(rows)


def _lerp_fresh_in_place(z0, z1, steps):
    path = z0.repeat(steps, 1)  # (steps, D), a new tensor
    path += torch.linspace(0, 1, steps)[:, None] * (z1 - z0)
    return path


INTERPOLATE = Cases(
    reference=lerp_reference,
    wrong={
        "reversed": (lambda z0, z1, s: lerp_reference(z1, z0, s), "from z1 to z0"),
        "missing last endpoint": (lambda z0, z1, s: (
            (1 - (t := torch.linspace(0, 1, s + 1)[:-1, None])) * z0 + t * z1), "last row"),
        "missing first endpoint": (lambda z0, z1, s: (
            (1 - (t := torch.linspace(0, 1, s + 1)[1:, None])) * z0 + t * z1), "first row"),
        "one step too many": (lambda z0, z1, s: lerp_reference(z0, z1, s + 1), "returned 8 rows"),
        "transposed": (lambda z0, z1, s: lerp_reference(z0, z1, s).T, "one row per step"),
        "flattened": (lambda z0, z1, s: lerp_reference(z0, z1, s).flatten(), "shape"),
        "uneven steps": (lambda z0, z1, s: lerp_reference(z0, z1, s)[
            (torch.linspace(0, 1, s) ** 2 * (s - 1)).round().long()], "evenly spaced"),
        "spherical": (_slerp, "straight line"),
        "numpy": (lambda z0, z1, s: lerp_reference(z0, z1, s).numpy(), "NumPy"),
        "returns None": (lambda z0, z1, s: None, "None"),
        "advances z0 in place": Wrong(_advance_start, "changed `z_start` in place",
                                      absent=("flatten",)),
    },
    styles={
        "float64 t from numpy": lambda z0, z1, s: (lambda t: (1 - t) * z0 + t * z1)(
            torch.tensor(np.linspace(0, 1, s))[:, None]),
        "torch.lerp": lambda z0, z1, s: torch.lerp(z0, z1, torch.linspace(0, 1, s)[:, None]),
        "in place on a fresh tensor": _lerp_fresh_in_place,
        "loop": lambda z0, z1, s: torch.stack([z0 + (z1 - z0) * i / (s - 1) for i in range(s)]),
    },
    leaks=LEAKS,
)

CASES = {"sample_prior": SAMPLE_PRIOR, "interpolate": INTERPOLATE}


def test_the_exercises_of_notebook_05_in_order():
    assert [e.name for e in checks.exercises_for("05_sampling_and_interpolation")] == list(CASES)
