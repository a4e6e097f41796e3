"""Checkers for the exercises of notebook 07_conditional_vae.

``cvae_forward(model, x, y)`` is run on a small test :class:`~vae_course.conditional.CVAE`
with fixed weights, fixed inputs and a fixed seed, and compared with the forward pass
built from the model's networks. The test model's own ``forward``, ``encode`` and
``decode`` are switched off (they would do the exercise), so only a pass built from
``encoder``, ``to_mu``, ``to_logvar``, ``reparameterize`` and ``decoder`` passes. Its
networks check the width of what they are given, so a badly built input stops with a
message naming the network and its shape; the checker turns that into the classic slip it
shows (the label forgotten in the encoder or the decoder, the label as a plain number, a
one-hot of the wrong width, the wrong dimension for ``torch.cat``). Inputs of the right
width but wrong content are named by comparing with the values each slip gives (label
before the code, the mean decoded instead of a sample, probabilities instead of logits).

``redraw(model, x, y, targets)`` (style transfer) is compared on a small test model with
the reference and with each classic slip (encoding with the target label, a sampled code
instead of the mean, logits, the (T, B) order, the image's own label or 0..T-1 in place
of the targets, a missing label); then, on the course's conditional VAE and 50 test
images, the course's classifier must read at least 90% of the redrawn digits as their
target.
"""

from __future__ import annotations

import functools
import re

import torch

from .. import data, zoo
from ..conditional import CVAE, CVAEConfig
from .core import Hint, StudentError, call, checker, close, expect_tensor

NOTEBOOK = "07_conditional_vae"

_CONFIG = CVAEConfig(hidden=(24,), latent_dim=3, n_classes=10)
# No 8 or 9 among the labels: a one-hot without an explicit number of classes has 8 columns.
_LABELS = (3, 0, 7, 1, 5, 2)
_SMALL = CVAEConfig(hidden=(12,), latent_dim=2, n_classes=4)  # catches a hard-coded 10
_SEED = 1
_WIDTH_MESSAGE = re.compile(r"the (encoder|decoder) got an input of shape \(([0-9, ]*)\)")
_OFF = "is switched off in this check"
_OFF_MESSAGE = re.compile(r"the model's own (.+?) " + _OFF)


class _PartsOnlyCVAE(CVAE):
    """A CVAE whose own passes are switched off: the test model of ``cvae_forward``.

    ``forward``, ``encode`` and ``decode`` do the exercise (or its two halves), so an
    answer must build the pass from the networks and ``reparameterize``.
    """

    def forward(self, x, y):
        raise RuntimeError(f"the model's own model(x, y) {_OFF}")

    def encode(self, x, y):
        raise RuntimeError(f"the model's own model.encode {_OFF}")

    def decode(self, z, y):
        raise RuntimeError(f"the model's own model.decode {_OFF}")


def _test_model(config: CVAEConfig, labels, seed: int, kind: type = CVAE):
    """A CVAE (or ``kind``) with fixed weights, images in [0, 1] and labels: (model, x, y)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = kind(config).eval()
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
    off = _OFF_MESSAGE.search(text)
    if off:
        return (f"your function calls {off.group(1)}, which does the pass (or half of it) for "
                f"you: the check gives it a model whose forward, encode and decode are "
                f"switched off. Build the pass from the model's networks, as the exercise "
                f"asks: encoder, to_mu, to_logvar, reparameterize and decoder.")
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
    model, x, y = _test_model(_CONFIG, _LABELS, seed=0, kind=_PartsOnlyCVAE)
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

    small, xs, ys = _test_model(_SMALL, (0, 3, 1, 2, 3), seed=2, kind=_PartsOnlyCVAE)
    try:
        out = _run(cvae_forward, small, xs, ys)
    except Hint as hint:
        raise Hint(f"for a model with {_SMALL.n_classes} classes, {hint} Take the number of "
                   f"classes from model.config.n_classes rather than writing 10.") from None
    if not all(close(a, b) for a, b in zip(_outputs(out, len(ys), _SMALL),
                                           _reference(small, xs, ys))):
        raise Hint("for another model (4 classes, a 2-D latent space) the outputs are off: "
                   "take every size from the model (model.config), not from fixed numbers.")


# ---------------------------------------------------------------- redraw

_REDRAW_LABELS = (3, 0, 7, 1, 5)  # B = 5 images
_TARGETS = (2, 9, 4)  # T = 3 targets: B != T, and not 0..T-1
_REDRAW_SEEDS = (11, 12)  # the global seed before each call: a sampled code differs
_COURSE_IMAGES = 50  # the first test images, each redrawn as all ten digits
_COURSE_SHARE = 0.9


@functools.lru_cache(maxsize=1)
def _course_setting():
    """The course's conditional VAE and classifier, and the first test images (CPU)."""
    cvae, _ = zoo.load("cvae", device="cpu", progress=False)
    classifier, _ = zoo.load("classifier", device="cpu", progress=False)
    x, y = data.load("test")
    return cvae, classifier, x[:_COURSE_IMAGES].clone(), y[:_COURSE_IMAGES].clone()


def _redrawn(model: CVAE, x, y, targets, *, own=True, mean=True, probabilities=True):
    """(B, T, 784): each image encoded (with its own label, or else with the target),
    its mean (or else a sample) decoded under each target, as probabilities (or logits)."""
    rows = []
    with torch.no_grad():
        for t in targets:
            label = torch.full_like(y, int(t))
            mu, logvar = model.encode(x, y if own else label)
            z = mu if mean else model.reparameterize(mu, logvar)
            logits = model.decode(z, label)
            rows.append(torch.sigmoid(logits) if probabilities else logits)
    return torch.stack(rows, dim=1)


def _redraw_error_hint(err: StudentError, config: CVAEConfig) -> str | None:
    text = str(err)
    if "required positional argument" in text and "'y'" in text:
        return ("model.encode(x, y) and model.decode(z, y) each need labels as their second "
                "argument: encode each image with its own label, and decode its code under "
                "the target label.")
    if "labels must be a 1-D integer tensor" in text:
        if "shape ()" in text:
            return ("the labels given to encode or decode are a single number: both take one "
                    "label per image, a tensor of shape (B,). For a target, repeat it once "
                    "per image.")
        return ("the labels given to encode or decode must be a 1-D tensor of integers, one "
                "per image, (B,).")
    found = _WIDTH_MESSAGE.search(text)
    if found:
        shape = tuple(int(v) for v in found.group(2).replace(" ", "").split(",") if v)
        return _width_hint(found.group(1), shape, torch.tensor(_REDRAW_LABELS), config)
    return None


def _call_redraw(redraw, model, x, y, targets, seed: int):
    torch.manual_seed(seed)  # the noise of an answer that samples its codes
    try:
        return call(redraw, model, x, y, targets)
    except StudentError as err:
        hint = _redraw_error_hint(err, _CONFIG)
        if hint:
            raise Hint(hint) from None
        raise


def _redraw_shape(out, b: int, t: int, pixels: int) -> torch.Tensor:
    if isinstance(out, (list, tuple)) and out and all(isinstance(v, torch.Tensor) for v in out):
        raise Hint(f"redraw returned a {type(out).__name__} of {len(out)} tensors: stack them "
                   f"into one tensor of shape (B, T, {pixels}), the targets along dimension 1.")
    if isinstance(out, torch.Tensor):
        shape = tuple(out.shape)
        if shape == (t, b, pixels):
            raise Hint(f"your result has shape {shape}, (T, B, {pixels}): the targets are "
                       f"along dimension 0. Return one row per image, (B, T, {pixels}) = "
                       f"{(b, t, pixels)}, e.g. by stacking along dimension 1.")
        if shape in ((b * t, pixels), (t * b, pixels)):
            raise Hint(f"your result has shape {shape}: keep the images and the targets apart, "
                       f"(B, T, {pixels}) = {(b, t, pixels)}.")
        if shape == (b, pixels):
            raise Hint(f"your result has shape {shape}, one image per input: redraw each image "
                       f"under every target, (B, T, {pixels}) = {(b, t, pixels)}.")
    return expect_tensor(out, "redraw's result", shape=(b, t, pixels))


@checker("redraw", NOTEBOOK, needs=("redraw",),
         success="each image is encoded with its own label, its mean code is decoded under "
                 "every target, and the course's classifier reads the redrawn test digits as "
                 "their targets.")
def check_redraw(redraw) -> None:
    model, x, y = _test_model(_CONFIG, _REDRAW_LABELS, seed=3)
    targets = torch.tensor(_TARGETS)
    b, t, pixels = len(y), len(targets), _CONFIG.input_dim
    out = _redraw_shape(_call_redraw(redraw, model, x, y, targets, _REDRAW_SEEDS[0]),
                        b, t, pixels)
    if not close(out, _redrawn(model, x, y, targets)):
        if close(out, _redrawn(model, x, y, targets, probabilities=False)):
            raise Hint("your images are logits, not probabilities: apply a sigmoid to the "
                       "decoder's output, so that each pixel lies between 0 and 1.")
        if close(out, _redrawn(model, x, y, targets, own=False)):
            raise Hint("you encode each image with the target label: encode it with its own "
                       "label y, the digit it shows, so that the code describes its style; "
                       "the target label goes only to the decoder.")
        if close(out, _redrawn(model, x, y, torch.arange(t))):
            raise Hint("your images are the digits 0, 1, 2, ... rather than the targets you "
                       "were given: decode under each label in targets, in their order.")
        own = torch.stack([_redrawn(model, x[i:i + 1], y[i:i + 1], y[i:i + 1])[0, 0]
                           for i in range(b)])  # (B, 784): each image under its own label
        if close(out, own[:, None, :].expand(b, t, pixels)):
            raise Hint("every column is the image redrawn under its own label: decode the code "
                       "under each target label instead.")
        again = _redraw_shape(_call_redraw(redraw, model, x, y, targets, _REDRAW_SEEDS[1]),
                              b, t, pixels)
        if not close(out, again):
            raise Hint("your result changes from one call to the next: the code is sampled. "
                       "Take the mean mu of q(z | x, y), the most typical code of the image's "
                       "style, so that the redrawn digits are the same every time.")
        if out.min() < 0 or out.max() > 1:
            raise Hint("your values are not probabilities between 0 and 1: apply a sigmoid to "
                       "the decoder's logits.")
        raise Hint("your images do not match: encode each image with its own label, take the "
                   "mean mu, and decode it under each target label (a tensor with the target "
                   "once per image), then apply a sigmoid.")

    cvae, classifier, xc, yc = _course_setting()
    every = torch.arange(cvae.config.n_classes)
    redrawn = _redraw_shape(_call_redraw(redraw, cvae, xc, yc, every, _REDRAW_SEEDS[0]),
                            len(yc), len(every), cvae.config.input_dim)
    with torch.no_grad():
        seen = classifier(redrawn.detach().float().reshape(-1, cvae.config.input_dim))
    seen = seen.argmax(dim=1).reshape(len(yc), len(every))  # (B, 10) the digits it reads
    share = (seen == every).float().mean().item()
    if share < _COURSE_SHARE:
        raise Hint(f"on the course's conditional VAE, the classifier reads only {share:.0%} of "
                   f"the redrawn test digits as their target (at least "
                   f"{_COURSE_SHARE:.0%} expected): check that every image is encoded with its "
                   f"own label and decoded under each target.")
