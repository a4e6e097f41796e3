"""The checkers of notebook 01 (vae_course/checks/autoencoder.py): their test data.

``CASES`` holds each exercise's reference, its catalogue of wrong answers with the hint
each must get, and correct answers in other styles; test_contract.py runs them.
"""

import torch
import torch.nn.functional as F
from torch.distributions import Bernoulli

from vae_course import checks, losses

from .cases import COPIED, Cases, Wrong, no_grad

LEAKS = ("reduction=", "linspace(0, 1", "(1 - t) *", "cdist(", ".sum(dim=1).mean()")

# ---------------------------------------------------------------- autoencode


def autoencode_reference(encoder, decoder, x):
    x = x.reshape(len(x), -1)  # (B, 784)
    z = encoder(x)  # (B, latent_dim)
    return z, decoder(z)


def _detached_decode(encoder, decoder, x):
    z = encoder(x.reshape(len(x), -1))
    return z, decoder(z.detach())


def _threshold_in_place(encoder, decoder, x):
    x[x < 0.5] = 0.0
    z = encoder(x.reshape(len(x), -1))
    return z, decoder(z)


def _divide_in_place(encoder, decoder, x):
    x /= 255.0
    z = encoder(x.reshape(len(x), -1))
    return z, decoder(z)


def _ae_loop(encoder, decoder, x):
    z = torch.stack([encoder(row) for row in x.reshape(len(x), -1)])  # a loop over images
    return z, torch.stack([decoder(code) for code in z])


def _ae_fresh_in_place(encoder, decoder, x):
    flat = x.reshape(len(x), -1).clone()  # a fresh tensor may be changed in place
    flat.mul_(1.0)
    z = encoder(flat)
    return z, decoder(z)


AUTOENCODE = Cases(
    reference=autoencode_reference,
    wrong={
        "returns None": (lambda e, d, x: None, "None"),
        "logits only": (lambda e, d, x: autoencode_reference(e, d, x)[1], "a single tensor"),
        "swapped": (lambda e, d, x: autoencode_reference(e, d, x)[::-1], "swapped"),
        "three results": (lambda e, d, x: (*autoencode_reference(e, d, x), x), "a tuple of two"),
        "sigmoid on logits": (lambda e, d, x: (lambda z, l: (z, torch.sigmoid(l)))(
            *autoencode_reference(e, d, x)), "probabilities"),
        "relu on z": (lambda e, d, x: (lambda z: (z, d(z)))(torch.relu(e(x.reshape(len(x), -1)))),
                      "extra activation"),
        "no flattening": (lambda e, d, x: (lambda z: (z, d(z)))(e(x)), "(B, 1, 28, 28)"),
        "flattens the batch away": (lambda e, d, x: (lambda z: (z, d(z)))(e(x.flatten())),
                                    "batch dimension"),
        "encodes twice": (lambda e, d, x: (lambda z: (z, d(z)))(e(x.reshape(len(x), -1)) * 2),
                          "not the encoder's output"),
        "decodes a fixed code": (lambda e, d, x: (e(x.reshape(len(x), -1)),
                                                  d(torch.zeros(len(x), 2))), "not the decoder's"),
        "torch.no_grad": (no_grad(autoencode_reference), "no gradient"),
        "detached z into the decoder": (_detached_decode, "no gradient reaches the encoder"),
        "numpy": (lambda e, d, x: tuple(t.detach().numpy() for t in autoencode_reference(e, d, x)),
                  "NumPy"),
        "column-major flatten": (lambda e, d, x: autoencode_reference(
            e, d, x.transpose(-1, -2) if x.dim() == 4 else x), "row by row"),
        # an input changed in place is told first, before any other hint
        "thresholds x in place": Wrong(_threshold_in_place, "changed `x` in place",
                                       absent=("flatten",)),
        "x /= 255": Wrong(_divide_in_place, "changed `x` in place", absent=("flatten",)),
    },
    styles={
        "flatten(1)": lambda e, d, x: (lambda z: (z, d(z)))(e(x.flatten(1))),
        "loop over images": _ae_loop,
        "in place on a fresh tensor": _ae_fresh_in_place,
    },
    leaks=LEAKS,
)

# ---------------------------------------------------------------- reconstruction_loss


def loss_reference(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=1).mean()


def _manual(logits, x):  # the textbook formula through sigmoid: NaN for confident logits
    p = torch.sigmoid(logits)
    return -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(dim=1).mean()


def _bce(logits, x, **kw):
    return F.binary_cross_entropy_with_logits(logits, x, **kw)


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


RECONSTRUCTION_LOSS = Cases(
    reference=loss_reference,
    wrong={
        "mean over pixels": (lambda l, x: _bce(l, x, reduction="none").mean(dim=1).mean(),
                             "784 times too small"),
        "default reduction (mean over everything)": (lambda l, x: _bce(l, x),
                                                     "784 times too small"),
        "sum over the batch": (lambda l, x: _bce(l, x, reduction="sum"), "5 times too large"),
        "mean over pixels, sum over batch": (lambda l, x: _bce(l, x, reduction="none")
                                             .mean(dim=1).sum(), "the other way round"),
        "sigmoid twice": (lambda l, x: loss_reference(torch.sigmoid(l), x),
                          "sigmoid is applied twice"),
        "BCE on logits as probabilities": (lambda l, x: F.binary_cross_entropy(
            l, x, reduction="sum") / len(l), "expects probabilities"),
        "swapped arguments": (lambda l, x: loss_reference(x, l), "arguments are swapped"),
        "swapped arguments, probabilities": (lambda l, x: F.binary_cross_entropy(
            x, torch.sigmoid(l), reduction="none").sum(dim=1).mean(), "arguments are swapped"),
        "MSE on probabilities": (lambda l, x: F.mse_loss(torch.sigmoid(l), x, reduction="none")
                                 .sum(dim=1).mean(), "squared error"),
        "MSE on logits (default mean)": (lambda l, x: F.mse_loss(l, x), "squared error"),
        "per-image vector": (lambda l, x: _bce(l, x, reduction="none").sum(dim=1),
                             "one value per image"),
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
        "the package's reconstruction_loss": (losses.reconstruction_loss, COPIED),
        "clamps x in place": Wrong(lambda l, x: losses.reconstruction_loss(l, x.clamp_(0.01, 0.99)),
                                   "changed `x` in place", absent=("flatten",)),
    },
    styles={
        "float64": lambda l, x: F.binary_cross_entropy_with_logits(
            l.double(), x.double(), reduction="none").sum(dim=1).mean(),
        "stable formula": _bce_stable,
        "softplus": lambda l, x: (F.softplus(l) - x * l).sum(dim=1).mean(),
        "torch.distributions": lambda l, x: -Bernoulli(logits=l, validate_args=False)
        .log_prob(x).sum(dim=1).mean(),
        "in place on a fresh tensor": _bce_fresh_in_place,
        "loop over images": _bce_loop,
    },
    leaks=LEAKS,
)

CASES = {"autoencode": AUTOENCODE, "reconstruction_loss": RECONSTRUCTION_LOSS}


def test_the_exercises_of_notebook_01_in_order():
    assert [e.name for e in checks.exercises_for("01_autoencoder")] == list(CASES)
