"""Checkers for the exercises of notebook 07_conditional_vae.

``cvae_forward(model, x, y)`` is run on a small test :class:`~vae_course.conditional.CVAE`
with fixed weights, fixed inputs and a fixed seed, and compared with the model's own
forward pass. The test model's networks check the width of what they are given, so a badly
built input stops with a message naming the network and its shape; the checker turns
that into the classic slip it shows (the label forgotten in the encoder or the decoder,
the label as a plain number, a one-hot of the wrong width, the wrong dimension for
``torch.cat``). Inputs of the right width but wrong content are named by comparing
with the values each slip gives (label before the code, the mean decoded instead of a
sample, probabilities instead of logits).
"""

from __future__ import annotations

import re

import torch

from ..conditional import CVAE, CVAEConfig
from .core import Hint, StudentError, call, checker, close, expect_tensor

NOTEBOOK = "07_conditional_vae"

_CONFIG = CVAEConfig(hidden=(24,), latent_dim=3, n_classes=10)
# No 8 or 9 among the labels: a one-hot without an explicit number of classes has 8 columns.
_LABELS = (3, 0, 7, 1, 5, 2)
_SMALL = CVAEConfig(hidden=(12,), latent_dim=2, n_classes=4)  # catches a hard-coded 10
_SEED = 1
_WIDTH_MESSAGE = re.compile(r"the (encoder|decoder) got an input of shape \(([0-9, ]*)\)")


def _test_model(config: CVAEConfig, labels, seed: int):
    """A CVAE with fixed weights, images in [0, 1] and labels: (model, x, y)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = CVAE(config).eval()
    g = torch.Generator().manual_seed(seed + 100)
    x = torch.rand(len(labels), config.input_dim, generator=g)  # (B, 784)
    return model, x, torch.tensor(labels)


def _width_hint(network: str, shape: tuple[int, ...], labels: torch.Tensor,
                config: CVAEConfig) -> str | None:
    part, base = ("x", config.input_dim) if network == "encoder" else ("z", config.latent_dim)
    k = config.n_classes
    if len(shape) != 2:
        return (f"the {network}'s input has shape {shape}: put {part} and the one-hot label "
                f"side by side in one 2-D tensor, one row per example, (B, {base} + {k}).")
    extra = shape[1] - base
    if extra == 0:
        return (f"the label is missing from the {network}'s input: it got only {part}, "
                f"{shape}. The {network} of a conditional VAE reads {part} and the one-hot "
                f"label side by side, (B, {base} + {k}).")
    if extra == 1:
        return (f"the label went into the {network} as a plain number (one column, {shape}): "
                f"a class number is not a quantity (7 is not 'more' than 3). Turn it into a "
                f"one-hot vector of {k} columns first.")
    if extra == int(labels.max()) + 1:
        return (f"the one-hot label in the {network}'s input has {extra} columns instead of "
                f"{k}: without an explicit number of classes, one_hot counts only up to the "
                f"largest label in the batch. Pass the number of classes (from the model's "
                f"config).")
    if extra > 0:
        return (f"the one-hot label in the {network}'s input has {extra} columns instead of "
                f"{k} (the model's config.n_classes).")
    return None


def _error_hint(err: StudentError, labels: torch.Tensor, config: CVAEConfig) -> str | None:
    """Name the slip behind an error raised while building a network's input."""
    text = str(err)
    found = _WIDTH_MESSAGE.search(text)
    if found:
        shape = tuple(int(v) for v in found.group(2).replace(" ", "").split(",") if v)
        return _width_hint(found.group(1), shape, labels, config)
    if "except in dimension 0" in text:
        return ("torch.cat joined the tensors along dimension 0, the batch (one below the "
                "other): the label belongs beside each row, so join along dimension 1, the "
                "features.")
    if "except in dimension 1" in text:
        return ("the tensors you join have different numbers of rows: the one-hot label must "
                "have one row per example, (B, n_classes), not (n_classes, B).")
    if "same number of dimensions" in text:
        return ("torch.cat got a 1-D tensor next to a 2-D one: the label y is a plain vector "
                "of class numbers, (B,). Turn it into a one-hot matrix (B, n_classes) first.")
    return None


def _run(cvae_forward, model, x, y):
    torch.manual_seed(_SEED)  # the sampling noise
    try:
        return call(cvae_forward, model, x, y)
    except StudentError as err:
        hint = _error_hint(err, y, model.config)
        if hint:
            raise Hint(hint) from None
        raise


def _reference(model: CVAE, x, y, *, enc_label_first=False, dec_label_first=False,
               decode_mean=False):
    """The forward pass, or one of the classic slips in it, with the checker's own seed."""
    oh = model.one_hot(y)
    with torch.no_grad():
        h = model.encoder(torch.cat([oh, x] if enc_label_first else [x, oh], dim=1))
        mu, logvar = model.to_mu(h), model.to_logvar(h)
        torch.manual_seed(_SEED)
        z = mu if decode_mean else model.reparameterize(mu, logvar)
        logits = model.decoder(torch.cat([oh, z] if dec_label_first else [z, oh], dim=1))
    return logits, mu, logvar


def _outputs(out, batch: int, config: CVAEConfig):
    if out is None:
        raise Hint("cvae_forward returned None: return the three tensors (logits, mu, logvar).")
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        raise Hint(f"cvae_forward should return three tensors, (logits, mu, logvar); got "
                   f"{type(out).__name__}{f' of length {len(out)}' if isinstance(out, (tuple, list)) else ''}.")
    shapes = [tuple(t.shape) if isinstance(t, torch.Tensor) else None for t in out]
    want = [(batch, config.input_dim), (batch, config.latent_dim), (batch, config.latent_dim)]
    if shapes != want and sorted(map(str, shapes)) == sorted(map(str, want)):
        raise Hint("your three tensors are there but in another order: return "
                   "(logits, mu, logvar).")
    return [expect_tensor(t, name, shape=s)
            for t, name, s in zip(out, ("logits", "mu", "logvar"), want)]


@checker("cvae_forward", NOTEBOOK, needs=("cvae_forward",),
         success="the encoder and the decoder both get the one-hot label beside their input, "
                 "and logits, mu and logvar match the model's.")
def check_cvae_forward(cvae_forward) -> None:
    model, x, y = _test_model(_CONFIG, _LABELS, seed=0)
    logits, mu, logvar = _outputs(_run(cvae_forward, model, x, y), len(y), _CONFIG)
    ref_logits, ref_mu, ref_logvar = _reference(model, x, y)
    if close(mu, ref_logvar) and close(logvar, ref_mu):
        raise Hint("mu and logvar are swapped: to_mu gives mu and to_logvar gives logvar; "
                   "return (logits, mu, logvar).")
    if not (close(mu, ref_mu) and close(logvar, ref_logvar)):
        if close(mu, _reference(model, x, y, enc_label_first=True)[1]):
            raise Hint("the encoder's input has the label first and the image after it: the "
                       "encoder was trained on [x, one_hot(y)], image first, so keep that "
                       "order.")
        raise Hint("mu and logvar do not match what the encoder's heads give for the image "
                   "and its one-hot label side by side: feed the encoder [x, one_hot(y)], "
                   "then apply to_mu and to_logvar to its output.")
    if not close(logits, ref_logits):
        if close(logits, torch.sigmoid(ref_logits)):
            raise Hint("your logits all lie between 0 and 1: you applied a sigmoid. Return "
                       "the decoder's raw output (logits); the loss applies the sigmoid itself.")
        if close(logits, _reference(model, x, y, decode_mean=True)[0]):
            raise Hint("your decoder decoded mu itself: in training, decode a sample "
                       "z = model.reparameterize(mu, logvar), so that the loss sees the noise.")
        if close(logits, _reference(model, x, y, dec_label_first=True)[0]):
            raise Hint("the decoder's input has the label first and z after it: keep the "
                       "order [z, one_hot(y)], z first.")
        raise Hint("the logits do not match the decoder's output for a sample z beside the "
                   "one-hot label: draw z once with model.reparameterize(mu, logvar) and feed "
                   "the decoder [z, one_hot(y)] with the same label as the encoder.")
    for name, t in (("logits", logits), ("mu", mu), ("logvar", logvar)):
        if not t.requires_grad:
            raise Hint(f"{name} carries no gradient: training needs it; compute it without "
                       f"torch.no_grad(), .detach() or NumPy.")

    small, xs, ys = _test_model(_SMALL, (0, 3, 1, 2, 3), seed=2)
    try:
        out = _run(cvae_forward, small, xs, ys)
    except Hint as hint:
        raise Hint(f"for a model with {_SMALL.n_classes} classes, {hint} Take the number of "
                   f"classes from model.config.n_classes rather than writing 10.") from None
    if not all(close(a, b) for a, b in zip(_outputs(out, len(ys), _SMALL),
                                           _reference(small, xs, ys))):
        raise Hint("for another model (4 classes, a 2-D latent space) the outputs are off: "
                   "take every size from the model (model.config), not from fixed numbers.")
