"""Every checker against correct answers in other styles, and against the classes of defect
that an audit of the checkers found: inputs changed in place, NotImplementedErrors that are
not the stub's, false passes, faults of the checker itself, and the global random state.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

from vae_course import checks, losses
from vae_course.checks import autoencoder as ae
from vae_course.checks import core
from vae_course.checks import kl as klc
from vae_course.checks import latent as lat
from vae_course.checks import reparameterization as rep
from vae_course.checks import sampling as smp
from vae_course.losses import LossParts
from vae_course.tools.student_notebook import STUB_RAISE
from fixtures.catalogue import fails_with

CHECKERS = {
    "autoencode": ae.check_autoencode,
    "reconstruction_loss": ae.check_reconstruction_loss,
    "interpolate_codes": lat.check_interpolate_codes,
    "nearest_distance": lat.check_nearest_distance,
    "reparameterize": rep.check_reparameterize,
    "reparam_gradients": rep.check_reparam_gradients,
    "gaussian_kl": klc.check_gaussian_kl,
    "vae_loss": klc.check_vae_loss,
    "sample_prior": smp.check_sample_prior,
    "interpolate": smp.check_interpolate,
}


_fails_with = fails_with


# ---------------------------------------------------------------- correct, in other styles

def _ae_loop(encoder, decoder, x):
    z = torch.stack([encoder(row) for row in x.reshape(len(x), -1)])  # a loop over images
    return z, torch.stack([decoder(code) for code in z])


def _ae_fresh_in_place(encoder, decoder, x):
    flat = x.reshape(len(x), -1).clone()  # a fresh tensor may be changed in place
    flat.mul_(1.0)
    z = encoder(flat)
    return z, decoder(z)


def _bce_stable(logits, x):  # the stable formula by hand
    per_pixel = logits.clamp(min=0) - logits * x + torch.log1p(torch.exp(-logits.abs()))
    return per_pixel.sum(dim=1).mean()


def _bce_fresh_in_place(logits, x):
    total = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    total /= len(logits)  # in place on a tensor the function made itself
    return total


def _bce_loop(logits, x):
    return sum(F.binary_cross_entropy_with_logits(l, t, reduction="sum")
               for l, t in zip(logits, x)) / len(logits)


def _lerp_fresh_in_place(z0, z1, steps):
    path = z0.repeat(steps, 1)  # (steps, D), a new tensor
    path += torch.linspace(0, 1, steps)[:, None] * (z1 - z0)
    return path


def _nearest_in_place_sqrt(samples, codes):
    d = (samples[:, None, :] - codes[None, :, :]).pow(2).sum(dim=2)
    d.sqrt_()
    return d.amin(dim=1)


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


def _kl_in_place(mu, logvar):
    t = logvar.exp()  # a new tensor
    t.neg_()
    t.add_(1 + logvar - mu.pow(2))
    return -0.5 * t.sum(dim=1).mean()


def _kl_loop(mu, logvar):
    rows = [-0.5 * (1 + lv - m.pow(2) - lv.exp()).sum() for m, lv in zip(mu, logvar)]
    return torch.stack(rows).mean()


def _vae_loss_fresh_in_place(logits, x, mu, logvar, beta=1.0):
    recon = losses.reconstruction_loss(logits, x)
    kl = losses.gaussian_kl(mu, logvar)
    loss = recon.clone()
    loss += beta * kl  # in place, on a copy
    return LossParts(loss, recon, kl)


def _vae_loss_distributions(logits, x, mu, logvar, beta=1.0):
    recon = -Bernoulli(logits=logits).log_prob(x).sum(dim=1).mean()
    std = torch.exp(0.5 * logvar)
    kl = kl_divergence(Normal(mu, std), Normal(torch.zeros_like(mu), torch.ones_like(std)))
    kl = kl.sum(dim=1).mean()
    return [recon + beta * kl, recon, kl]  # a list of three values is fine too


def _box_muller(n, latent_dim, generator=None):
    u1 = torch.rand(n, latent_dim, generator=generator).clamp_min(1e-12)
    u2 = torch.rand(n, latent_dim, generator=generator)
    return torch.sqrt(-2 * torch.log(u1)) * torch.cos(2 * torch.pi * u2)


CORRECT_STYLES = {
    "autoencode": {
        "flatten(1)": lambda e, d, x: (lambda z: (z, d(z)))(e(x.flatten(1))),
        "loop over images": _ae_loop,
        "in place on a fresh tensor": _ae_fresh_in_place,
    },
    "reconstruction_loss": {
        "float64": lambda l, x: F.binary_cross_entropy_with_logits(
            l.double(), x.double(), reduction="none").sum(dim=1).mean(),
        "stable formula": _bce_stable,
        "softplus": lambda l, x: (F.softplus(l) - x * l).sum(dim=1).mean(),
        "torch.distributions": lambda l, x: -Bernoulli(logits=l, validate_args=False)
        .log_prob(x).sum(dim=1).mean(),
        "in place on a fresh tensor": _bce_fresh_in_place,
        "loop over images": _bce_loop,
    },
    "interpolate_codes": {
        "float64 t from numpy": lambda z0, z1, s: (lambda t: (1 - t) * z0 + t * z1)(
            torch.tensor(np.linspace(0, 1, s))[:, None]),
        "float64 linspace": lambda z0, z1, s: (lambda t: (1 - t) * z0 + t * z1)(
            torch.linspace(0, 1, s, dtype=torch.float64)[:, None]),
        "torch.lerp": lambda z0, z1, s: torch.lerp(z0, z1, torch.linspace(0, 1, s)[:, None]),
        "in place on a fresh tensor": _lerp_fresh_in_place,
        "loop": lambda z0, z1, s: torch.stack([z0 + (z1 - z0) * i / (s - 1) for i in range(s)]),
    },
    "nearest_distance": {
        "float64": lambda s, c: torch.cdist(s.double(), c.double()).amin(dim=1),
        "loop over samples": lambda s, c: torch.stack([(c - p).norm(dim=1).min() for p in s]),
        "vector_norm and min": lambda s, c: torch.linalg.vector_norm(
            s[:, None] - c[None], dim=-1).min(dim=1).values,
        "in place on a fresh tensor": _nearest_in_place_sqrt,
    },
    "reparameterize": {
        "float64": lambda mu, lv: mu.double() + torch.exp(0.5 * lv.double()) * torch.randn_like(
            mu, dtype=torch.float64),
        "torch.distributions": lambda mu, lv: Normal(mu, torch.exp(0.5 * lv)).rsample(),
        "sqrt of exp": lambda mu, lv: mu + torch.sqrt(torch.exp(lv)) * torch.randn_like(mu),
        "in place on a fresh tensor": lambda mu, lv: mu + lv.mul(0.5).exp() * torch.empty_like(
            mu).normal_(),
        "loop over dimensions": lambda mu, lv: torch.stack(
            [mu[:, j] + torch.exp(0.5 * lv[:, j]) * torch.randn(len(mu))
             for j in range(mu.shape[1])], dim=1),
    },
    "reparam_gradients": {
        "autograd.grad and rsample": _grad_autograd,
        "loop over chunks": _grad_chunks,
        "float64": _grad_float64,
    },
    "gaussian_kl": {
        "float64": lambda mu, lv: losses.gaussian_kl(mu.double(), lv.double()),
        "torch.distributions": lambda mu, lv: kl_divergence(
            Normal(mu, torch.exp(0.5 * lv)), Normal(0.0, 1.0)).sum(dim=1).mean(),
        "Independent": lambda mu, lv: kl_divergence(
            Independent(Normal(mu, torch.exp(0.5 * lv)), 1),
            Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)).mean(),
        "in place on a fresh tensor": _kl_in_place,
        "loop over rows": _kl_loop,
    },
    "vae_loss": {
        "float64": lambda l, x, mu, lv, beta=1.0: LossParts(*(
            p.double() for p in losses.vae_loss(l, x, mu, lv, beta))),
        "in place on a fresh tensor": _vae_loss_fresh_in_place,
        "torch.distributions, a list": _vae_loss_distributions,
    },
    "sample_prior": {
        "normal_ on a fresh tensor": lambda n, d, generator=None: torch.empty(n, d).normal_(
            generator=generator),
        "torch.normal": lambda n, d, generator=None: torch.normal(
            0.0, 1.0, size=(n, d), generator=generator),
        "loop over rows": lambda n, d, generator=None: torch.stack(
            [torch.randn(d, generator=generator) for _ in range(n)]),
        "Box-Muller": _box_muller,
    },
    "interpolate": {
        "float64 t from numpy": lambda z0, z1, s: (lambda t: (1 - t) * z0 + t * z1)(
            torch.tensor(np.linspace(0, 1, s))[:, None]),
        "torch.lerp": lambda z0, z1, s: torch.lerp(z0, z1, torch.linspace(0, 1, s)[:, None]),
        "in place on a fresh tensor": _lerp_fresh_in_place,
        "loop": lambda z0, z1, s: torch.stack([z0 + (z1 - z0) * i / (s - 1) for i in range(s)]),
    },
}
STYLES = [(name, style) for name, table in CORRECT_STYLES.items() for style in table]


@pytest.mark.parametrize("name, style", STYLES)
def test_correct_answers_in_other_styles_pass(name, style):
    result = CHECKERS[name](CORRECT_STYLES[name][style])
    assert result.passed, result


def test_every_checker_has_other_styles():
    assert set(CORRECT_STYLES) == set(CHECKERS) == {
        e.name for e in checks.EXERCISES.values() if e.notebook[:2] in ("01", "02", "03", "04",
                                                                          "05")}


# ---------------------------------------------------------------- inputs changed in place

def _threshold_in_place(encoder, decoder, x):
    x[x < 0.5] = 0.0
    z = encoder(x.reshape(len(x), -1))
    return z, decoder(z)


def _divide_in_place(encoder, decoder, x):
    x /= 255.0
    z = encoder(x.reshape(len(x), -1))
    return z, decoder(z)


def _exp_in_place(mu, logvar):
    var = logvar.exp_()
    return -0.5 * (1 + var.log() - mu.pow(2) - var).sum(dim=1).mean()


def _kl_plus_equal(logits, x, mu, logvar, beta=1.0):
    recon = losses.reconstruction_loss(logits, x)
    kl = losses.gaussian_kl(mu, logvar)
    loss = recon
    loss += beta * kl  # also changes recon: they are one tensor
    return LossParts(loss, recon, kl)


def _advance_start(z_start, z_end, steps):
    rows, step = [], (z_end - z_start) / (steps - 1)
    for _ in range(steps):
        rows.append(z_start.clone())
        z_start += step  # walks the caller's tensor along the path
    return torch.stack(rows)


def _grad_on_callers_tensors(f, mu, logvar, n_samples=1000):
    mu.requires_grad_(True)
    logvar.requires_grad_(True)
    f(mu + torch.exp(0.5 * logvar) * torch.randn(n_samples, len(mu))).mean().backward()
    return mu.grad, logvar.grad


def _mu_in_place(mu, logvar):
    return mu.add_(torch.exp(0.5 * logvar) * torch.randn_like(mu))  # mu is a leaf


def _scale_codes_in_place(samples, codes):
    codes *= 1.0001
    return torch.cdist(samples, codes).amin(dim=1)


IN_PLACE = {
    "autoencode thresholds x": ("autoencode", _threshold_in_place, "changed `x` in place"),
    "autoencode x /= 255": ("autoencode", _divide_in_place, "changed `x` in place"),
    "gaussian_kl logvar.exp_()": ("gaussian_kl", _exp_in_place, "changed `logvar` in place"),
    "vae_loss loss = recon; loss +=": ("vae_loss", _kl_plus_equal, "in-place update"),
    "interpolate_codes advances z_start": ("interpolate_codes", _advance_start,
                                           "changed `z_start` in place"),
    "interpolate advances z0": ("interpolate", _advance_start, "changed `z_start` in place"),
    "reparam_gradients requires_grad_ on the caller's tensors": (
        "reparam_gradients", _grad_on_callers_tensors, "requires_grad of the caller's `mu`"),
    "reparameterize adds into mu": ("reparameterize", _mu_in_place, "in place"),
    "nearest_distance scales the codes": ("nearest_distance", _scale_codes_in_place,
                                          "changed `codes` in place"),
    "reconstruction_loss clamps x": ("reconstruction_loss", lambda l, x: losses.reconstruction_loss(
        l, x.clamp_(0.01, 0.99)), "changed `x` in place"),
}


@pytest.mark.parametrize("case", IN_PLACE)
def test_a_function_that_changes_an_input_is_told_so_first(case):
    name, fn, hint = IN_PLACE[case]
    _fails_with(CHECKERS[name](fn), hint)
    assert "flatten" not in CHECKERS[name](fn).message


# ---------------------------------------------------------------- NotImplementedError

def _stub(name: str, owner: str | None = None):
    namespace = {}
    exec(f"def {owner or name}(*args, **kwargs):\n    {STUB_RAISE.format(name=name)}\n", namespace)
    return namespace[owner or name]


@pytest.mark.parametrize("name", CHECKERS)
def test_only_the_stub_itself_reads_not_attempted(name):
    assert CHECKERS[name](_stub(name)).status == "not attempted"
    # torch's own NotImplementedError (no KL for this pair): an error, with its message
    def unsupported(*args, **kwargs):
        return kl_divergence(Independent(Normal(torch.zeros(2), 1.0), 1), Normal(0.0, 1.0))
    result = CHECKERS[name](unsupported)
    assert result.status == "error" and "NotImplementedError" in result.message, result
    assert "not the exercise's own placeholder" in result.message
    # a module with a typo in `forward`
    class Helper(torch.nn.Module):
        def forwad(self, t):
            return t
    result = CHECKERS[name](lambda *args, **kwargs: Helper()(torch.zeros(1)))
    assert result.status == "error" and "forward" in result.message, result
    # another exercise's stub, reached from this one's function
    other = _stub("reparameterize" if name != "reparameterize" else "gaussian_kl")
    result = CHECKERS[name](lambda *args, **kwargs: other())
    assert result.status == "error" and "Exercise `" in result.message, result
    # the stub's message raised from somewhere else than the function it names
    result = CHECKERS[name](_stub(name, owner="helper_of_mine"))
    assert result.status == "error", result


def test_an_empty_exception_message_is_said_in_words():
    def fails(*args):
        raise AssertionError
    result = ae.check_reconstruction_loss(fails)
    assert result.status == "error"
    assert "AssertionError (without a message)" in result.message and ": ." not in result.message


# ---------------------------------------------------------------- false passes

def _same_noise_per_row(mu, logvar):
    eps = torch.randn(len(mu), 1).expand_as(mu)  # one eps per row, shared by the dimensions
    return mu + torch.exp(0.5 * logvar) * eps


def _half_the_rows_repeat(mu, logvar):
    eps = torch.randn(len(mu) // 2, mu.shape[1]).repeat(2, 1)
    return mu + torch.exp(0.5 * logvar) * eps


def _fixed_sample_count(f, mu, logvar, n_samples=1000):
    mu, logvar = mu.detach().requires_grad_(True), logvar.detach().requires_grad_(True)
    f(mu + torch.exp(0.5 * logvar) * torch.randn(1000, len(mu))).mean().backward()
    return mu.grad, logvar.grad


def _never_calls_f(f, mu, logvar, n_samples=1000):
    return 2 * (mu - torch.tensor([0.5, 0.0, -1.0])), torch.exp(logvar)


def _zero_to_infinity(samples, codes):
    d = torch.cdist(samples, codes)
    d[d == 0] = float("inf")
    return d.amin(dim=1)


def _skip_exact_matches(samples, codes):
    d = torch.cdist(samples, codes)
    return torch.where(d > 0, d, d.max()).amin(dim=1)


def _reseeds_global(n, latent_dim, generator=None):
    if generator is not None:
        torch.manual_seed(generator.initial_seed())
    return torch.randn(n, latent_dim)


def _fresh_generator_from_seed(n, latent_dim, generator=None):
    if generator is not None:
        generator = torch.Generator().manual_seed(generator.initial_seed())
    return torch.randn(n, latent_dim, generator=generator)


FALSE_PASSES = {
    "reparameterize: one eps per row": ("reparameterize", _same_noise_per_row,
                                        "across the latent dimensions"),
    "reparameterize: rows repeat their noise": ("reparameterize", _half_the_rows_repeat,
                                                "same noise"),
    "reparam_gradients: ignores n_samples": ("reparam_gradients", _fixed_sample_count,
                                             "1000 samples"),
    "reparam_gradients: never calls f": ("reparam_gradients", _never_calls_f, "never calls f"),
    "nearest_distance: zero distances to infinity": ("nearest_distance", _zero_to_infinity,
                                                     "coincide with a code"),
    "nearest_distance: skips exact matches": ("nearest_distance", _skip_exact_matches,
                                              "coincide with a code"),
    "sample_prior: float64": ("sample_prior", lambda n, d, generator=None: torch.randn(
        n, d, generator=generator, dtype=torch.float64), "float32"),
    "sample_prior: re-seeds the global generator": ("sample_prior", _reseeds_global,
                                                    "ignores the generator"),
    "sample_prior: a new generator from the seed": ("sample_prior", _fresh_generator_from_seed,
                                                    "ignores the generator"),
}


@pytest.mark.parametrize("case", FALSE_PASSES)
def test_former_false_passes_fail_with_the_real_cause(case):
    name, fn, hint = FALSE_PASSES[case]
    _fails_with(CHECKERS[name](fn), hint)


def test_min_with_indices_is_named_as_such():
    result = lat.check_nearest_distance(lambda s, c: torch.cdist(s, c).min(dim=1))
    _fails_with(result, "the values of the minimum and the indices")
    assert "Python min" not in result.message


def test_a_list_of_three_values_is_not_called_not_three_values():
    result = klc.check_vae_loss(lambda *a: list(losses.vae_loss(*a)))
    assert result.passed, result
    _fails_with(klc.check_vae_loss(lambda *a: list(losses.vae_loss(*a))[:2]), "returned 2 values")


# ---------------------------------------------------------------- the checker's own faults

@pytest.mark.parametrize("name", CHECKERS)
def test_a_fault_of_the_checker_is_a_result_not_a_traceback(name, monkeypatch):
    reference = next(iter(CORRECT_STYLES[name].values()))

    def broken(*args, **kwargs):
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(torch, "allclose", broken)
    result = CHECKERS[name](reference)
    assert result.status == "error", result
    assert result.message == "the check could not judge this answer (RuntimeError: broken on " \
                             "purpose)."


def test_a_device_or_dtype_mix_in_a_comparison_is_not_a_crash():
    assert core.close(torch.ones(3, dtype=torch.float64), torch.ones(3))
    assert core.close(torch.ones(3), torch.ones(3, dtype=torch.float16))
    assert not core.close(torch.ones(3), torch.ones(4))  # shapes that do not broadcast


# ---------------------------------------------------------------- global random state

def _random_state():
    return (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())


def _same_state(a, b) -> bool:
    return torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


def _draws_everywhere(fn):
    def wrapped(*args, **kwargs):
        np.random.rand()
        random.random()
        torch.manual_seed(12345)  # re-seeds the global stream
        return fn(*args, **kwargs)
    return wrapped


@pytest.mark.parametrize("name", CHECKERS)
def test_every_checker_leaves_the_global_random_state_as_it_found_it(name):
    torch.manual_seed(7), np.random.seed(7), random.seed(7)
    for fn in list(CORRECT_STYLES[name].values())[:2]:
        before = _random_state()
        assert CHECKERS[name](fn).passed
        assert _same_state(before, _random_state())
        CHECKERS[name](_draws_everywhere(fn))
        assert _same_state(before, _random_state())


def test_the_notebooks_torch_settings_do_not_change_the_check():
    # A notebook that switched to float64 and turned gradients off is probed in its kernel;
    # the grader, with torch's defaults, must find the inputs it builds itself.
    fn = CORRECT_STYLES["reparameterize"]["torch.distributions"]
    exercise = checks.EXERCISES["reparameterize"]
    torch.set_default_dtype(torch.float64)
    try:
        with torch.no_grad():
            data = exercise.probe_in({"reparameterize": fn})
            assert rep.check_reparameterize(fn).passed
            assert not torch.is_grad_enabled()
        assert torch.get_default_dtype() == torch.float64
    finally:
        torch.set_default_dtype(torch.float32)
    assert exercise.replay(data).passed
