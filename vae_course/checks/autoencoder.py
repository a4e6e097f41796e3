"""Checkers for the exercises of notebook 01_autoencoder.

``autoencode(encoder, decoder, x)`` is run with small seeded networks on flat images
and on images of shape (B, 1, 28, 28), and compared with ``decoder(encoder(x))``;
then gradients are pushed back to the encoder. ``reconstruction_loss(logits, x)`` is
compared with the summed Bernoulli cross-entropy (BCE) and, when it differs, with each
common slip (wrong reduction, sigmoid twice, swapped arguments, squared error, a
missing term, the wrong sign) so that the hint can name the slip.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..losses import reconstruction_loss as _reference_loss
from ..models import mlp
from .core import Hint, StudentError, call, call_traced, checker, close, expect_tensor

NOTEBOOK = "01_autoencoder"

_B, _PIXELS, _LATENT = 5, 784, 2


def _networks() -> tuple[torch.nn.Module, torch.nn.Module]:
    with torch.random.fork_rng():  # fixed weights, and the student's random state untouched
        torch.manual_seed(0)
        encoder = mlp([_PIXELS, 32, _LATENT])  # (B, 784) -> (B, 2)
        decoder = mlp([_LATENT, 32, _PIXELS])  # (B, 2) -> (B, 784)
    return encoder, decoder


def _images(batch: int = _B, seed: int = 1) -> torch.Tensor:
    return torch.rand(batch, _PIXELS, generator=torch.Generator().manual_seed(seed))  # (B, 784)


def _call_forward(autoencode, encoder, decoder, x: torch.Tensor, what: str):
    """The trace of one call, gradients included: the logits' sum is back-propagated."""
    try:
        return call_traced(autoencode, encoder, decoder, x, backward=_logits_of)
    except StudentError as err:
        if "shapes cannot be multiplied" in str(err) or "size mismatch" in str(err):
            raise Hint(f"the encoder was given a tensor of the wrong shape for {what}: each "
                       f"row must hold the 784 pixels of one image, and the batch dimension "
                       f"must stay first (B rows in, B rows out).") from None
        raise


def _logits_of(out):
    return out[1]


def _split(out) -> tuple[torch.Tensor, torch.Tensor]:
    if out is None:
        raise Hint("autoencode returned None: did you forget the `return` statement?")
    if isinstance(out, torch.Tensor):
        raise Hint("autoencode returned a single tensor: return both the code and the "
                   "logits, as a tuple (z, logits).")
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise Hint("autoencode should return a tuple of two tensors, (z, logits).")
    z, logits = out
    if isinstance(z, torch.Tensor) and isinstance(logits, torch.Tensor) \
            and tuple(z.shape) == (_B, _PIXELS) and tuple(logits.shape) == (_B, _LATENT):
        raise Hint("the two results are swapped: return z first, then the logits.")
    return (expect_tensor(z, "z", shape=(_B, _LATENT)),
            expect_tensor(logits, "logits", shape=(_B, _PIXELS)))


@checker("autoencode", NOTEBOOK, needs=("autoencode",),
         success="z and logits are right for flat and image-shaped input, and gradients "
                 "reach the encoder.")
def check_autoencode(autoencode) -> None:
    encoder, decoder = _networks()
    x = _images()
    run = _call_forward(autoencode, encoder, decoder, x, "x of shape (B, 784)")
    z, logits = _split(run.out)
    with torch.no_grad():
        z_ref = encoder(x)  # (B, 2)
        logits_ref = decoder(z_ref)  # (B, 784)
    if not close(z, z_ref):
        if close(z, torch.relu(z_ref)) or close(z, torch.sigmoid(z_ref)) \
                or close(z, torch.tanh(z_ref)):
            raise Hint("z went through an extra activation: the code is the encoder's output "
                       "as it is (it may be any real number, negative too).")
        raise Hint("z is not the encoder's output for x: apply the `encoder` passed as an "
                   "argument to the (flattened) images, once.")
    if not close(logits, logits_ref):
        if close(logits, torch.sigmoid(logits_ref)):
            raise Hint("you returned probabilities (after a sigmoid), not logits: the loss "
                       "applies the sigmoid itself, so return the decoder's output as it is.")
        raise Hint("the logits are not the decoder's output for z: apply the `decoder` "
                   "passed as an argument to the code z.")
    if not z.requires_grad or not logits.requires_grad:
        raise Hint("the results carry no gradient (torch.no_grad(), .detach() or a NumPy "
                   "round trip cut them off): training could not change the weights.")
    # The recorded call back-propagated the logits' sum through the decoder and z into the encoder.
    first = (run.grads.get(0) or [None])[0]  # the gradient of the encoder's first weight
    if first is None or not bool(first.abs().sum() > 0):
        raise Hint("no gradient reaches the encoder through the logits: compute the logits "
                   "from z itself, without detaching it.")

    shaped = x.reshape(_B, 1, 28, 28)  # (B, 1, 28, 28), as images come from torchvision
    z2, logits2 = _split(_call_forward(autoencode, encoder, decoder, shaped,
                                       "images of shape (B, 1, 28, 28)").out)
    if not close(z2, z_ref) or not close(logits2, logits_ref):
        raise Hint("the results differ when the same images come as (B, 1, 28, 28) instead "
                   "of (B, 784): flatten each image row by row, keeping the batch first.")


# ---------------------------------------------------------------- reconstruction loss

def _loss_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(2)
    logits = (3 * torch.randn(_B, _PIXELS, generator=g)).requires_grad_(True)  # (B, 784)
    x = torch.rand(_B, _PIXELS, generator=g)  # (B, 784) grey levels in [0, 1]
    return logits, x


def _bce(p_or_logits, target, logits: bool = True) -> torch.Tensor:
    fn = F.binary_cross_entropy_with_logits if logits else F.binary_cross_entropy
    return fn(p_or_logits, target, reduction="none")  # (B, 784)


def _per_image(per_pixel: torch.Tensor) -> torch.Tensor:
    return per_pixel.sum(dim=1).mean()


# Each slip: (what the slipped code computes, the hint). Checked in order.
_SLIPS = [
    (lambda l, x: _bce(l, x).mean(),
     "your loss is 784 times too small: it averages over the pixels. The loss of an image "
     "is the sum over its 784 pixels (then average over the batch)."),
    (lambda l, x: _bce(l, x).sum(),
     f"your loss is {_B} times too large, the batch size: it sums over the batch. Sum over "
     f"the pixels of each image, then average over the images of the batch, so that the "
     f"loss does not grow with the batch size."),
    (lambda l, x: _bce(l, x).mean(dim=1).sum(),
     "your loss averages over the pixels and sums over the batch: it should be the other "
     "way round (sum over the pixels of an image, mean over the batch)."),
    (lambda l, x: _per_image(_bce(torch.sigmoid(l), x)),
     "sigmoid is applied twice: the *_with_logits loss applies it itself, so give it the "
     "logits directly."),
    (lambda l, x: _per_image(_bce(x, l)),
     "the arguments are swapped: the loss takes the model's prediction (the logits) first "
     "and the target images x second."),
    (lambda l, x: _per_image(_bce(x, torch.sigmoid(l), logits=False)),
     "the arguments are swapped: the loss takes the model's prediction first and the "
     "target images x second."),
    (lambda l, x: -_per_image(_bce(l, x)),
     "your loss has the wrong sign: the BCE is -[x log sigmoid(l) + (1 - x) log(1 - "
     "sigmoid(l))] per pixel, a term that is never negative; yours is its negative."),
    (lambda l, x: -(x * F.logsigmoid(l)).sum(dim=1).mean(),
     "a term is missing: the BCE has a term weighted by x (ink) and one weighted by "
     "1 - x (paper); yours only has the first."),
    (lambda l, x: -((1 - x) * F.logsigmoid(-l)).sum(dim=1).mean(),
     "a term is missing: the BCE has a term weighted by x (ink) and one weighted by "
     "1 - x (paper); yours only has the second."),
]
_MSE_HINT = ("this looks like a squared error. The course's reconstruction loss is the "
             "summed Bernoulli cross-entropy (BCE) of x, computed from the logits.")
_MSE = [lambda l, x, f=f, r=r: r(F.mse_loss(f(l), x, reduction="none"))
        for f in (torch.sigmoid, lambda t: t)
        for r in (_per_image, torch.mean, torch.sum)]


@checker("reconstruction_loss", NOTEBOOK, needs=("reconstruction_loss",),
         success="the Bernoulli cross-entropy (BCE) from the logits, summed over pixels "
                 "and averaged over the batch, with gradients.")
def check_reconstruction_loss(reconstruction_loss) -> None:
    logits, x = _loss_inputs()
    try:
        run = call_traced(reconstruction_loss, logits, x, backward=lambda out: out)
    except StudentError as err:
        if "between 0 and 1" in str(err):
            raise Hint("binary_cross_entropy (without _with_logits) expects probabilities, "
                       "but it was given logits, which can be any real number: use the "
                       "version of the loss that takes logits.") from None
        raise
    loss = run.out
    if isinstance(loss, torch.Tensor) and tuple(loss.shape) == (_B,):
        raise Hint(f"your loss has shape ({_B},), one value per image: average over the "
                   f"batch to return a single number.")
    if isinstance(loss, torch.Tensor) and tuple(loss.shape) == (_B, _PIXELS):
        raise Hint(f"your loss has shape ({_B}, {_PIXELS}), one value per pixel: it is not "
                   f"reduced. Sum over the pixels, then average over the batch.")
    loss = expect_tensor(loss, "the loss", shape=())
    with torch.no_grad():
        expected = _reference_loss(logits, x)
        if not close(loss, expected, rtol=1e-4, atol=1e-3):
            for slip, hint in _SLIPS:
                if close(loss, slip(logits, x), rtol=1e-4, atol=1e-3):
                    raise Hint(hint)
            if any(close(loss, mse(logits, x), rtol=1e-4, atol=1e-3) for mse in _MSE):
                raise Hint(_MSE_HINT)
            raise Hint(f"your loss differs from the summed Bernoulli cross-entropy "
                       f"(it is {loss.item() / expected.item():.3g} times the expected "
                       f"value): check the formula term by term.")
    if not loss.requires_grad:
        raise Hint("the loss carries no gradient (torch.no_grad(), .detach() or a NumPy "
                   "round trip cut it off): training could not learn from it.")
    grad = run.grads.get(0)  # of the logits, from the recorded backward pass
    if grad is None or not bool(grad.abs().sum() > 0):
        raise Hint("no gradient reaches the logits: compute the loss from them with torch "
                   "operations.")
    # Confident logits, right and wrong: sigmoid rounds to exactly 0 or 1 in float32 here.
    extreme = torch.tensor([[40.0, -40.0, 40.0, -40.0] * (_PIXELS // 4)])  # (1, 784)
    target = torch.tensor([[1.0, 0.0, 0.0, 1.0] * (_PIXELS // 4)])
    value = call(reconstruction_loss, extreme, target)
    if isinstance(value, torch.Tensor) and not bool(torch.isfinite(value).all()) \
            or not close(expect_tensor(value, "the loss", shape=()),
                         _reference_loss(extreme, target), rtol=1e-3, atol=1e-2):
        raise Hint("your loss is wrong for very confident logits (|logit| = 40), where "
                   "sigmoid rounds to exactly 0 or 1 and its log is -inf (or clipped): "
                   "compute the loss from the logits with a numerically stable function.")
