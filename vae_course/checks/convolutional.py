"""Checkers for the exercises of notebook 06_convolutional_vae.

``make_decoder(latent_dim)`` asks for a decoder that the package does not have: its two
transposed convolutions use kernel 3 with stride 2, where the package's ``ConvVAE``
(printed in the notebook) uses kernel 4. It is judged by its layers (transposed
convolutions of kernel 3 and stride 2, 32 -> 16 -> 1 channels) and by what it does: the
shape of its output (an image side off, channels last, flat logits), how the image side
grows layer by layer, whether the output can be any logit (no sigmoid, ReLU, tanh or
clamp at the end; tried with large codes, where an untrained decoder's logits are large
too), and whether gradients reach the code. ``traverse(model, x, dim, values)`` is run
on a small test VAE whose decoder is linear, so that each classic slip (a sample instead
of the mean, adding instead of setting, the wrong or every dimension, logits instead of
probabilities) gives a different answer and can be named.
"""

from __future__ import annotations

import torch
from torch import nn

from ..convolutional import traverse as reference_traverse
from .core import Hint, StudentError, call, checker, close, expect_tensor

NOTEBOOK = "06_convolutional_vae"

_SIDE, _BATCH = 28, 5


def _codes(n: int, dim: int, seed: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed)) * scale


# The checker reaches the student's decoder only through `call`, with these helpers: they
# run on the live decoder in the student's kernel and hand back plain data.

def _facts(decoder) -> dict:
    """What kind of object make_decoder returned, and its convolutions, in module order."""
    module = isinstance(decoder, nn.Module)
    layers = list(decoder.modules()) if module else []
    return {"type": type(decoder).__name__, "module": module,
            "transposed": [{"channels": (m.in_channels, m.out_channels),
                            "kernel": tuple(m.kernel_size), "stride": tuple(m.stride)}
                           for m in layers if isinstance(m, nn.ConvTranspose2d)],
            "upsamples": any(isinstance(m, (nn.Upsample, nn.UpsamplingNearest2d,
                                            nn.UpsamplingBilinear2d, nn.PixelShuffle))
                             for m in layers)}


def _apply(decoder: nn.Module, z: torch.Tensor):
    """The decoder's output for z, in evaluation mode."""
    return decoder.eval()(z)


def _grad_of_z(decoder: nn.Module, z: torch.Tensor):
    """The gradient that the sum of the logits sends back to z (None when none arrives)."""
    z = z.detach().clone().requires_grad_(True)
    logits = decoder.eval()(z)
    weights = torch.randn(logits.shape, generator=torch.Generator().manual_seed(0))
    (logits * weights.to(logits.device)).sum().backward()  # a weighted sum: no cancelling out
    return z.grad


def _sides(decoder: nn.Module, z: torch.Tensor) -> list[int]:
    """The image side after each layer of an ``nn.Sequential`` that makes images."""
    if not isinstance(decoder, nn.Sequential):
        return []
    sides, h = [], z
    for layer in decoder.eval():
        h = layer(h)
        if isinstance(h, torch.Tensor) and h.dim() == 4 and (not sides or sides[-1] != h.shape[-1]):
            sides.append(int(h.shape[-1]))
    return sides


def _shape_hint(shape: tuple[int, ...], decoder, z: torch.Tensor) -> str:
    b = _BATCH
    if shape == (b, _SIDE, _SIDE, 1):
        return ("your logits are channels last, (B, 28, 28, 1): PyTorch's convolutions and "
                "this course put channels first, (B, C, H, W) = (B, 1, 28, 28). Do not "
                "permute the output.")
    if shape == (b, _SIDE * _SIDE):
        return ("your logits are flat, (B, 784): the decoder should return images, "
                "(B, 1, 28, 28), as its last ConvTranspose2d makes them.")
    if shape == (b, _SIDE, _SIDE):
        return ("your logits have shape (B, 28, 28): the channel dimension is missing; "
                "the decoder should return (B, 1, 28, 28).")
    if len(shape) == 4 and shape[0] == b and shape[2] == shape[3] and shape[2] != _SIDE:
        side = shape[2]
        off = abs(side - _SIDE)
        how = f"{'one pixel' if off == 1 else f'{off} pixels'} {'short' if side < _SIDE else 'too many'}"
        sides = call(_sides, decoder, z)
        growth = f" Layer by layer your image side goes {' -> '.join(map(str, sides))}." if sides else ""
        return (f"your logits are {side}x{side} instead of 28x28 ({how}).{growth} A ConvTranspose2d "
                f"makes (H - 1) * stride - 2 * padding + kernel_size + output_padding "
                f"pixels from H; check kernel_size, padding and output_padding of each layer.")
    if len(shape) == 4 and shape[0] == b and shape[2:] == (_SIDE, _SIDE):
        return (f"your logits have {shape[1]} channels: the last layer should make 1 channel "
                f"(one logit per pixel of a grey image), (B, 1, 28, 28).")
    return f"your decoder returned shape {shape} for z of shape {(b, z.shape[1])}; expected (B, 1, 28, 28)."


def _activation_hint(big: torch.Tensor) -> str | None:
    """Name the final activation that bounds the logits, from outputs on large codes."""
    lo, hi = big.min().item(), big.max().item()
    if lo >= 0 and hi <= 1:
        return ("all your outputs lie between 0 and 1: the decoder ends in a sigmoid. Return "
                "logits: the loss (binary cross-entropy *with logits*) applies the sigmoid "
                "itself, and a second one squashes every probability into [0.5, 0.73].")
    if lo >= 0:
        return ("your logits are never negative: a final ReLU (or similar) keeps every pixel "
                "probability at 1/2 or more, so the background can never be white. Leave the "
                "last layer without an activation.")
    if -1 <= lo and hi <= 1:
        return ("your logits never leave [-1, 1]: a final tanh (or clamp) caps them, so no pixel "
                "probability can go below sigmoid(-1) = 0.27 or above 0.73. Leave the last layer "
                "without an activation.")
    at_edge = ((big == hi) | (big == lo)).float().mean().item()
    if at_edge > 0.05:
        return (f"your logits are clipped: {at_edge:.0%} of them sit exactly at {lo:.3g} or "
                f"{hi:.3g}, so the loss gets no gradient there. Leave the last layer without a "
                f"clamp or hardtanh.")
    return None


_KERNEL, _STRIDE, _CHANNELS = (3, 3), (2, 2), [(32, 16), (16, 1)]


def _layer_hint(facts: dict) -> str | None:
    """Name what differs from the asked layers: ConvTranspose2d, kernel 3, stride 2, channels."""
    convs = [{k: tuple(v) for k, v in c.items()} for c in facts["transposed"]]
    if not convs:
        if facts["upsamples"]:
            return ("your decoder upsamples and then convolves: a good design, but this "
                    "exercise asks for two ConvTranspose2d layers with kernel size 3 and "
                    "stride 2.")
        return ("your decoder has no ConvTranspose2d: this exercise builds the decoder from "
                "two transposed convolutions with kernel size 3 and stride 2.")
    kernels = sorted({c["kernel"] for c in convs})
    if kernels != [_KERNEL]:
        sizes = " and ".join("x".join(map(str, k)) for k in kernels)
        package = ", like the package's decoder printed above" if (4, 4) in kernels else ""
        return (f"your transposed convolutions have kernel size {sizes}{package}: this "
                f"exercise asks for kernel size 3 with stride 2. Work out padding and "
                f"output_padding from the formula for the output side.")
    if any(c["stride"] != _STRIDE for c in convs):
        return ("each transposed convolution should double the image side: give it stride 2, "
                "then choose padding and output_padding with the formula.")
    channels = [c["channels"] for c in convs]
    if channels != _CHANNELS:
        steps = " -> ".join(str(c) for c in [channels[0][0], *(c[1] for c in channels)])
        return (f"your transposed convolutions go {steps} channels; the table asks for two "
                f"of them, 32 -> 16 -> 1.")
    return None


@checker("make_decoder", NOTEBOOK, needs=("make_decoder",),
         success="transposed convolutions of kernel 3 make logits of shape (B, 1, 28, 28), "
                 "unbounded, with gradients reaching z.")
def check_make_decoder(make_decoder) -> None:
    latent_dim = 16
    with torch.random.fork_rng():
        torch.manual_seed(0)  # the decoders' initial weights
        decoder = call(make_decoder, latent_dim)
        small = call(make_decoder, 3)
    for d in (decoder, small):
        if d is None:
            raise Hint("make_decoder returned None: did you forget the `return` statement?")
        facts = call(_facts, d)
        if not facts["module"]:
            raise Hint(f"make_decoder should return an nn.Module (for example an "
                       f"nn.Sequential of layers), got {facts['type']}.")
        hint = _layer_hint(facts)
        if hint:
            raise Hint(hint)
    z = _codes(_BATCH, latent_dim, seed=1)
    out = call(_apply, decoder, z)
    if isinstance(out, torch.Tensor) and tuple(out.shape) != (_BATCH, 1, _SIDE, _SIDE):
        raise Hint(_shape_hint(tuple(out.shape), decoder, z))
    out = expect_tensor(out, "the logits", shape=(_BATCH, 1, _SIDE, _SIDE))
    big = expect_tensor(call(_apply, decoder, _codes(64, latent_dim, seed=2, scale=30.0)),
                        "the logits for large codes").detach()
    hint = _activation_hint(big)
    if hint:
        raise Hint(hint)
    if not out.requires_grad:
        raise Hint("your logits carry no gradient: build them with the layers' own forward "
                   "pass, without torch.no_grad(), .detach() or NumPy.")
    one = expect_tensor(call(_apply, decoder, z[:1]), "the logits of one code")
    if not close(one, out.detach()[:1], rtol=1e-4, atol=1e-4):
        raise Hint("the logits of a code change with the other codes in the batch: each image "
                   "must depend only on its own z (no reshape that mixes the batch).")
    grad = call(_grad_of_z, decoder, z)
    if not isinstance(grad, torch.Tensor) or not torch.isfinite(grad).all() or grad.abs().sum() == 0:
        raise Hint("no gradient reaches z: the logits must depend on the code through the layers.")
    try:
        out3 = call(_apply, small, _codes(2, 3, seed=3))
    except StudentError:
        out3 = None
    if not isinstance(out3, torch.Tensor) or tuple(out3.shape) != (2, 1, _SIDE, _SIDE):
        raise Hint("make_decoder(3) does not make a decoder for 3-D codes: use the argument "
                   "latent_dim for the first layer's input size, not a fixed number.")


class _ProbeVAE(nn.Module):
    """A tiny VAE with a linear encoder and decoder, so that every slip gives other numbers."""

    def __init__(self, latent_dim: int = 4):
        super().__init__()
        g = torch.Generator().manual_seed(7)
        self.w_mu = nn.Parameter(torch.randn(_SIDE * _SIDE, latent_dim, generator=g) * 0.1)
        self.w_dec = nn.Parameter(torch.randn(latent_dim, _SIDE * _SIDE, generator=g))
        self.b_dec = nn.Parameter(torch.randn(_SIDE * _SIDE, generator=g) * 0.5)
        self.latent_dim = latent_dim

    def encode(self, x):  # (B, 784) or images -> (mu, logvar), each (B, D)
        mu = x.reshape(x.shape[0], -1) @ self.w_mu
        return mu, torch.zeros_like(mu)  # logvar 0: a sample lies far from mu

    def reparameterize(self, mu, logvar):
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def decode(self, z):  # (B, D) -> logits (B, 1, 28, 28), like the conv VAE
        return (z @ self.w_dec + self.b_dec).reshape(-1, 1, _SIDE, _SIDE)

    def forward(self, x):
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar)).flatten(1), mu, logvar


def _decoded(model: _ProbeVAE, z: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(model.decode(z)).reshape(len(z), -1)


def _traverse_slips(model, x, dim, values) -> list[tuple[torch.Tensor, str]]:
    with torch.no_grad():
        mu = model.encode(x.reshape(1, -1))[0]  # (1, D)
        steps = len(values)
        base = mu.repeat(steps, 1)  # (steps, D)
        added, every, other = base.clone(), base.clone(), []
        added[:, dim] += values
        every[:] = values[:, None]
        for d in (dim + 1, dim - 1):
            z = base.clone()
            z[:, d % model.latent_dim] = values
            other.append(_decoded(model, z))
        ref_z = base.clone()
        ref_z[:, dim] = values
    return [
        (_decoded(model, added), "dimension `dim` is moved *by* each value (added to the code's "
                                 "own value); the traversal sets it *to* each value."),
        (_decoded(model, base + values[:, None]), "every latent dimension moves, not only `dim`: "
                                                  "change one column of z and keep the others."),
        (_decoded(model, every), "every latent dimension is set to the value: change only the "
                                 "column `dim` and keep the code's other dimensions."),
        (other[0], "you move dimension dim + 1: latent dimensions are numbered from 0, like "
                   "tensor columns."),
        (other[1], "you move dimension dim - 1: latent dimensions are numbered from 0, like "
                   "tensor columns."),
        (model.decode(ref_z).reshape(steps, -1).detach(),
         "these are logits, not pixel probabilities: apply the sigmoid to the decoder's output."),
        (_decoded(model, ref_z.flip(0)), "the rows come in reverse order: row i should use values[i]."),
        (_decoded(model, base), "the images do not change along the traversal: put each value "
                                "into dimension `dim` of the code before decoding."),
    ]


@checker("traverse", NOTEBOOK, needs=("traverse",),
         success="the mean code, one dimension set to each value, decoded to probabilities.")
def check_traverse(traverse) -> None:
    model = _ProbeVAE()
    x = torch.rand(_SIDE * _SIDE, generator=torch.Generator().manual_seed(4))  # (784,)
    dim, values = 2, torch.linspace(-3.0, 3.0, 7)
    out = call(traverse, model, x.clone(), dim, values.clone())
    if isinstance(out, torch.Tensor) and tuple(out.shape) == (len(values), 1, _SIDE, _SIDE):
        raise Hint("your images have shape (steps, 1, 28, 28): flatten each one, so that the "
                   "result is (steps, 784).")
    out = expect_tensor(out, "the traversal", shape=(len(values), _SIDE * _SIDE)).detach()
    ref = reference_traverse(model, x, dim, values)
    again = expect_tensor(call(traverse, model, x.clone(), dim, values.clone()),
                          "the traversal").detach()
    if not close(out, again):
        raise Hint("two calls with the same image give different images: the code should be "
                   "the encoder's mean mu, not a sample from q(z|x).")
    if close(out, ref):
        rows = expect_tensor(call(traverse, model, x.reshape(1, -1).clone(), 0, values[:3].clone()),
                             "the traversal", shape=(3, _SIDE * _SIDE)).detach()
        if not close(rows, reference_traverse(model, x, 0, values[:3])):
            raise Hint("with x of shape (1, 784), dim = 0 and three values the result is off: "
                       "accept both image shapes and use `dim` and `values` as given.")
        return
    for value, hint in _traverse_slips(model, x, dim, values):
        if close(out, value):
            raise Hint(hint)
    if out.min() < 0 or out.max() > 1:
        raise Hint("some outputs lie outside [0, 1]: return pixel probabilities (the sigmoid "
                   "of the decoder's logits).")
    raise Hint("your images differ from decoding the mean code with dimension `dim` set to "
               "each value; check how you build z.")
