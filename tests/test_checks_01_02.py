"""The checkers of notebooks 01 and 02 against a catalogue of wrong implementations.

Every wrong implementation must fail with its own hint (asserted on the hint's text),
the reference must pass, and an untouched exercise must read "not attempted".
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vae_course import checks, losses
from vae_course.tools.student_notebook import STUB_RAISE
from vae_course.checks import autoencoder as ae_checks
from vae_course.checks import latent as latent_checks
from fixtures.catalogue import fails_with


_fails_with = fails_with


def stub(name: str):
    """The exercise's function as the student notebook has it: its stub raise, untouched."""
    namespace = {}
    exec(f"def {name}(*args, **kwargs):\n    {STUB_RAISE.format(name=name)}\n", namespace)
    return namespace[name]


# ---------------------------------------------------------------- autoencode

def autoencode_reference(encoder, decoder, x):
    x = x.reshape(len(x), -1)  # (B, 784)
    z = encoder(x)  # (B, latent_dim)
    return z, decoder(z)


def _detached_decode(encoder, decoder, x):
    z = encoder(x.reshape(len(x), -1))
    return z, decoder(z.detach())


def _no_grad(fn):
    def wrapped(*args):
        with torch.no_grad():
            return fn(*args)
    return wrapped


AUTOENCODE_WRONG = {
    "returns None": (lambda e, d, x: None, "None"),
    "logits only": (lambda e, d, x: autoencode_reference(e, d, x)[1], "a single tensor"),
    "swapped": (lambda e, d, x: autoencode_reference(e, d, x)[::-1], "swapped"),
    "three results": (lambda e, d, x: (*autoencode_reference(e, d, x), x), "a tuple of two"),
    "sigmoid on logits": (lambda e, d, x: (lambda z, l: (z, torch.sigmoid(l)))(
        *autoencode_reference(e, d, x)), "probabilities"),
    "relu on z": (lambda e, d, x: (lambda z: (z, d(z)))(torch.relu(e(x.reshape(len(x), -1)))),
                  "extra activation"),
    "no flattening": (lambda e, d, x: (lambda z: (z, d(z)))(e(x)),
                      "(B, 1, 28, 28)"),
    "flattens the batch away": (lambda e, d, x: (lambda z: (z, d(z)))(e(x.flatten())),
                                "batch dimension"),
    "encodes twice": (lambda e, d, x: (lambda z: (z, d(z)))(e(x.reshape(len(x), -1)) * 2),
                      "not the encoder's output"),
    "decodes a fixed code": (lambda e, d, x: (e(x.reshape(len(x), -1)),
                                              d(torch.zeros(len(x), 2))), "not the decoder's"),
    "torch.no_grad": (_no_grad(autoencode_reference), "no gradient"),
    "detached z into the decoder": (_detached_decode, "no gradient reaches the encoder"),
    "numpy": (lambda e, d, x: tuple(t.detach().numpy() for t in autoencode_reference(e, d, x)),
              "NumPy"),
    "column-major flatten": (lambda e, d, x: autoencode_reference(
        e, d, x.transpose(-1, -2) if x.dim() == 4 else x), "row by row"),
}


def test_autoencode_reference_passes():
    assert ae_checks.check_autoencode(autoencode_reference).passed


@pytest.mark.parametrize("name", AUTOENCODE_WRONG)
def test_autoencode_mistake_is_caught_with_its_hint(name):
    fn, hint = AUTOENCODE_WRONG[name]
    _fails_with(ae_checks.check_autoencode(fn), hint)


# ---------------------------------------------------------------- reconstruction_loss

def loss_reference(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1).mean()


def _manual(logits, x):  # the textbook formula through sigmoid: NaN for confident logits
    p = torch.sigmoid(logits)
    return -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(dim=1).mean()


def _bce(logits, x, **kw):
    return F.binary_cross_entropy_with_logits(logits, x, **kw)


LOSS_WRONG = {
    "mean over pixels": (lambda l, x: _bce(l, x, reduction="none").mean(dim=1).mean(),
                         "784 times too small"),
    "default reduction (mean over everything)": (lambda l, x: _bce(l, x), "784 times too small"),
    "sum over the batch": (lambda l, x: _bce(l, x, reduction="sum"), "5 times too large"),
    "mean over pixels, sum over batch": (lambda l, x: _bce(l, x, reduction="none")
                                         .mean(dim=1).sum(), "the other way round"),
    "sigmoid twice": (lambda l, x: loss_reference(torch.sigmoid(l), x), "sigmoid is applied twice"),
    "BCE on logits as probabilities": (lambda l, x: F.binary_cross_entropy(l, x, reduction="sum")
                                       / len(l), "expects probabilities"),
    "swapped arguments": (lambda l, x: loss_reference(x, l), "arguments are swapped"),
    "swapped arguments, probabilities": (lambda l, x: F.binary_cross_entropy(
        x, torch.sigmoid(l), reduction="none").sum(dim=1).mean(), "arguments are swapped"),
    "MSE on probabilities": (lambda l, x: F.mse_loss(torch.sigmoid(l), x, reduction="none")
                             .sum(dim=1).mean(), "squared error"),
    "MSE on logits (default mean)": (lambda l, x: F.mse_loss(l, x), "squared error"),
    "per-image vector": (lambda l, x: _bce(l, x, reduction="none").sum(dim=1), "one value per image"),
    "not reduced": (lambda l, x: _bce(l, x, reduction="none"), "one value per pixel"),
    ".item()": (lambda l, x: loss_reference(l, x).item(), "Python number"),
    "numpy": (lambda l, x: loss_reference(l, x).detach().numpy(), "NumPy"),
    "returns None": (lambda l, x: None, "None"),
    "wrong sign": (lambda l, x: -loss_reference(l, x), "wrong sign"),
    "missing the (1 - x) term": (lambda l, x: -(x * F.logsigmoid(l)).sum(dim=1).mean(),
                                 "only has the first"),
    "missing the x term": (lambda l, x: -((1 - x) * torch.log(1 - torch.sigmoid(l)))
                           .sum(dim=1).mean(), "only has the second"),
    "detached": (lambda l, x: loss_reference(l.detach(), x), "no gradient"),
    "keepdim shape (1,)": (lambda l, x: loss_reference(l, x).reshape(1), "shape (1,)"),
    "textbook formula through sigmoid": (_manual, "very confident logits"),
    "sigmoid then binary_cross_entropy": (lambda l, x: F.binary_cross_entropy(
        torch.sigmoid(l), x, reduction="none").sum(dim=1).mean(), "very confident logits"),
    "times 0.5": (lambda l, x: 0.5 * loss_reference(l, x), "0.5 times the expected"),
}


def test_reconstruction_loss_reference_passes():
    assert ae_checks.check_reconstruction_loss(loss_reference).passed
    assert ae_checks.check_reconstruction_loss(losses.reconstruction_loss).passed


@pytest.mark.parametrize("name", LOSS_WRONG)
def test_reconstruction_loss_mistake_is_caught_with_its_hint(name):
    fn, hint = LOSS_WRONG[name]
    _fails_with(ae_checks.check_reconstruction_loss(fn), hint)


# ---------------------------------------------------------------- interpolate_codes

def lerp_reference(z_start, z_end, steps):
    t = torch.linspace(0, 1, steps)[:, None]  # (steps, 1)
    return (1 - t) * z_start + t * z_end


def _loop_list(z0, z1, steps):
    return [z0 + (z1 - z0) * i / (steps - 1) for i in range(steps)]


def _loop_stacked(z0, z1, steps):  # a loop is fine as long as it returns one tensor
    return torch.stack(_loop_list(z0, z1, steps))


INTERPOLATE_WRONG = {
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
                                       if len(z0) == 3 else torch.zeros(s, 2), "only two steps"),
}


def test_interpolate_codes_reference_passes():
    assert latent_checks.check_interpolate_codes(lerp_reference).passed
    assert latent_checks.check_interpolate_codes(_loop_stacked).passed


@pytest.mark.parametrize("name", INTERPOLATE_WRONG)
def test_interpolate_codes_mistake_is_caught_with_its_hint(name):
    fn, hint = INTERPOLATE_WRONG[name]
    _fails_with(latent_checks.check_interpolate_codes(fn), hint)


# ---------------------------------------------------------------- nearest_distance

def nearest_reference(samples, codes):
    return torch.cdist(samples, codes).amin(dim=1)  # (N,)


def _broadcast(samples, codes):  # another right way
    return (samples[:, None, :] - codes[None, :, :]).pow(2).sum(dim=2).sqrt().min(dim=1).values


NEAREST_WRONG = {
    "squared distances": (lambda s, c: torch.cdist(s, c).pow(2).amin(dim=1), "squared"),
    "min over the samples": (lambda s, c: torch.cdist(s, c).amin(dim=0), "one value per code"),
    "argmin": (lambda s, c: torch.cdist(s, c).argmin(dim=1), "indices"),
    "min returns a pair": (lambda s, c: torch.cdist(s, c).min(dim=1), "values of the minimum"),
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
}


def test_nearest_distance_reference_passes():
    assert latent_checks.check_nearest_distance(nearest_reference).passed
    assert latent_checks.check_nearest_distance(_broadcast).passed


@pytest.mark.parametrize("name", NEAREST_WRONG)
def test_nearest_distance_mistake_is_caught_with_its_hint(name):
    fn, hint = NEAREST_WRONG[name]
    _fails_with(latent_checks.check_nearest_distance(fn), hint)


# ---------------------------------------------------------------- common behaviour

CHECKERS = {
    "autoencode": ae_checks.check_autoencode,
    "reconstruction_loss": ae_checks.check_reconstruction_loss,
    "interpolate_codes": latent_checks.check_interpolate_codes,
    "nearest_distance": latent_checks.check_nearest_distance,
}
TABLES = {
    "autoencode": (AUTOENCODE_WRONG, autoencode_reference),
    "reconstruction_loss": (LOSS_WRONG, loss_reference),
    "interpolate_codes": (INTERPOLATE_WRONG, lerp_reference),
    "nearest_distance": (NEAREST_WRONG, nearest_reference),
}


@pytest.mark.parametrize("name", CHECKERS)
def test_untouched_exercise_reads_not_attempted(name):
    result = CHECKERS[name](stub(name))
    assert result.status == "not attempted"
    assert "NotImplementedError" in result.message


@pytest.mark.parametrize("name", CHECKERS)
def test_a_crash_in_student_code_is_an_error_with_its_message(name):
    def crash(*args):
        raise KeyError("oops")
    result = CHECKERS[name](crash)
    assert result.status == "error"
    assert "KeyError" in result.message and "oops" in result.message


@pytest.mark.parametrize("name", CHECKERS)
def test_not_a_function_is_a_hint(name):
    _fails_with(CHECKERS[name](None), "expected a function")


def test_exercises_are_registered_for_their_notebooks():
    assert [e.name for e in checks.exercises_for("01_autoencoder")] == \
        ["autoencode", "reconstruction_loss"]
    assert [e.name for e in checks.exercises_for("02_latent_irregularity")] == \
        ["interpolate_codes", "nearest_distance"]
    for name in CHECKERS:
        assert checks.EXERCISES[name].needs == (name,)


def test_every_catalogue_entry_gets_a_different_hint_than_the_reference_passes():
    # Each wrong implementation fails; hints never contain a solution line.
    for name, (table, _) in TABLES.items():
        for fn, _ in table.values():
            text = CHECKERS[name](fn).message
            for leak in ("reduction=", "linspace(0, 1", "(1 - t) *", "cdist(", ".sum(dim=1).mean()"):
                assert leak not in text, (name, text)


def test_the_checks_do_not_change_the_global_random_state():
    state = torch.get_rng_state()
    for name, (_, reference) in TABLES.items():
        assert CHECKERS[name](reference).passed
    assert torch.equal(torch.get_rng_state(), state)
