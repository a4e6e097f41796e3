"""The checkers of notebook 06 (vae_course/checks/convolutional.py): their test data, and a
decoder whose forward pass crashes.
"""

import numpy as np
import torch
from torch import nn

from vae_course import checks
from vae_course.checks import convolutional as conv_checks
from vae_course.convolutional import ConvConfig, ConvVAE, decoder
from vae_course.convolutional import traverse as package_traverse

from .cases import COPIED, Cases

LEAKS = ("output_padding=1", "padding=1", "z[:, dim] =")

# ---------------------------------------------------------------- make_decoder
# The exercise asks for transposed convolutions of kernel 3 (the package's decoder, which
# the notebook prints, uses kernel 4): with stride 2, padding 1 and output_padding 1 each
# doubles the side, (7 - 1) * 2 - 2 + 3 + 1 = 14.


def decoder_reference(latent_dim):
    return nn.Sequential(
        nn.Linear(latent_dim, 32 * 7 * 7), nn.ReLU(),  # (B, 1568)
        nn.Unflatten(1, (32, 7, 7)),  # (B, 32, 7, 7)
        nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1),  # (B, 1, 28, 28)
    )


def _decoder(latent_dim=16, *, last=(), kernel=3, padding=(1, 1), output_padding=(1, 1),
             middle=16, channels=1, stride=2):
    return nn.Sequential(
        nn.Linear(latent_dim, 32 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (32, 7, 7)),
        nn.ConvTranspose2d(32, middle, kernel, stride=stride, padding=padding[0],
                           output_padding=output_padding[0]), nn.ReLU(),
        nn.ConvTranspose2d(middle, channels, kernel, stride=stride, padding=padding[1],
                           output_padding=output_padding[1]), *last)


def upsample_then_convolve(latent_dim):  # a good decoder, but not the one asked for
    return nn.Sequential(
        nn.Linear(latent_dim, 32 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (32, 7, 7)),
        nn.Upsample(scale_factor=2), nn.Conv2d(32, 16, 3, padding=1), nn.ReLU(),
        nn.Upsample(scale_factor=2), nn.Conv2d(16, 1, 3, padding=1))


class _Wrap(nn.Module):
    """A decoder whose forward does something to the reference's output."""

    def __init__(self, latent_dim, after):
        super().__init__()
        self.net, self.after = decoder_reference(latent_dim), after

    def forward(self, z):
        return self.after(self.net(z))


class _MixesBatch(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.net = decoder_reference(latent_dim)

    def forward(self, z):
        out = self.net(z)
        return out - out.mean(dim=0, keepdim=True)  # each image depends on the others


class _MLPOnly(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.net = nn.Linear(latent_dim, 784)

    def forward(self, z):
        return self.net(z).reshape(-1, 1, 28, 28)


class _OwnModule(nn.Module):
    """The same decoder written as a module of its own, reshaping in forward."""

    def __init__(self, latent_dim):
        super().__init__()
        self.fc = nn.Linear(latent_dim, 1568)
        self.up1 = nn.ConvTranspose2d(32, 16, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1),
                                      output_padding=(1, 1))
        self.up2 = nn.ConvTranspose2d(16, 1, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1),
                                      output_padding=(1, 1))

    def forward(self, z):
        h = torch.relu(self.fc(z)).view(-1, 32, 7, 7)
        return self.up2(torch.relu(self.up1(h)))


def _named_layers(latent_dim):  # an OrderedDict of named layers, ELU between them
    from collections import OrderedDict
    return nn.Sequential(OrderedDict([
        ("fc", nn.Linear(latent_dim, 32 * 7 * 7)), ("act0", nn.ELU()),
        ("unflatten", nn.Unflatten(1, (32, 7, 7))),
        ("up1", nn.ConvTranspose2d(32, 16, 3, 2, 1, 1)), ("act1", nn.LeakyReLU(0.1)),
        ("up2", nn.ConvTranspose2d(16, 1, 3, 2, 1, 1))]))


MAKE_DECODER = Cases(
    reference=decoder_reference,
    wrong={
        "the package's decoder (kernel 4)": (
            lambda d: decoder(ConvConfig(channels=(16, 32), latent_dim=d)),
            "4x4, like the package's decoder printed above"),
        "ConvVAE(...).decoder (kernel 4)": (
            lambda d: ConvVAE(ConvConfig(channels=(16, 32), latent_dim=d)).decoder,
            "kernel size 4x4"),
        "copied from the printout (kernel 4)": (
            lambda d: _decoder(d, kernel=4, output_padding=(0, 0)), "kernel size 4x4"),
        "kernel 5": (lambda d: _decoder(d, kernel=5, output_padding=(0, 0), padding=(2, 2)),
                     "kernel size 5x5"),
        "upsample, then convolve": (upsample_then_convolve, "upsamples and then convolves"),
        "no convolution": (_MLPOnly, "no ConvTranspose2d"),
        "stride 1": (lambda d: _decoder(d, stride=1, output_padding=(0, 0)), "stride 2"),
        "8 channels in the middle": (lambda d: _decoder(d, middle=8), "32 -> 8 -> 1"),
        "three channels": (lambda d: _decoder(d, channels=3), "32 -> 16 -> 3"),
        "no output_padding: 25x25": (lambda d: _decoder(d, output_padding=(0, 0)),
                                     "25x25 instead of 28x28 (3 pixels short)"),
        "padding 0: 31x31": (lambda d: _decoder(d, padding=(0, 0), output_padding=(0, 0)),
                             "7 -> 15 -> 31"),
        "output_padding on the first only: 27x27": (
            lambda d: _decoder(d, output_padding=(1, 0)),
            "27x27 instead of 28x28 (one pixel short)"),
        "output_padding on the last only: 26x26": (
            lambda d: _decoder(d, output_padding=(0, 1)), "7 -> 13 -> 26"),
        "sigmoid at the end": (lambda d: _decoder(d, last=(nn.Sigmoid(),)), "ends in a sigmoid"),
        "sigmoid in forward": (lambda d: _Wrap(d, torch.sigmoid), "ends in a sigmoid"),
        "final ReLU": (lambda d: _decoder(d, last=(nn.ReLU(),)), "never negative"),
        "final softplus": (lambda d: _decoder(d, last=(nn.Softplus(),)), "never negative"),
        "final tanh": (lambda d: _decoder(d, last=(nn.Tanh(),)), "never leave [-1, 1]"),
        "clamp to [-1, 1]": (lambda d: _Wrap(d, lambda x: x.clamp(-1, 1)), "never leave [-1, 1]"),
        "hardtanh(-5, 5)": (lambda d: _decoder(d, last=(nn.Hardtanh(-5, 5),)), "clipped"),
        "clamp to [-4, 6]": (lambda d: _Wrap(d, lambda x: x.clamp(-4, 6)), "clipped"),
        "channels last": (lambda d: _Wrap(d, lambda x: x.permute(0, 2, 3, 1)), "channels last"),
        "flat logits": (lambda d: _Wrap(d, lambda x: x.flatten(1)), "flat, (B, 784)"),
        "no channel dimension": (lambda d: _Wrap(d, lambda x: x[:, 0]),
                                 "channel dimension is missing"),
        "fixed latent size": (lambda d: decoder_reference(16), "latent_dim"),
        "detached logits": (lambda d: _Wrap(d, lambda x: x.detach()), "no gradient"),
        "numpy logits": (lambda d: _Wrap(d, lambda x: x.detach().numpy()), "NumPy"),
        "mixes the batch": (_MixesBatch, "other codes in the batch"),
        "returns None": (lambda d: None, "returned None"),
        "returns a list of layers": (lambda d: list(decoder_reference(d)), "nn.Module"),
        "forward returns None": (lambda d: _Wrap(d, lambda x: None), "None"),
    },
    styles={
        "a module of its own, tuples for the sizes": _OwnModule,
        "named layers, other activations": _named_layers,
    },
    leaks=LEAKS,
)

# ---------------------------------------------------------------- traverse


@torch.no_grad()
def traverse_reference(model, x, dim, values):
    """The code's mean, one dimension set to each value, decoded: (steps, 784) probabilities.

    Written here, not imported: a call of the package's traverse counts as copying.
    """
    with torch.no_grad():
        device = next(model.parameters()).device
        mu, _ = model.encode(x.reshape(1, -1).to(device))  # (1, D)
        z = mu.repeat(len(values), 1)  # (steps, D)
        z[:, dim] = values.to(device)
        return torch.sigmoid(model.decode(z)).reshape(len(values), -1).cpu()


def _with_z(build_z, squash=torch.sigmoid, flatten=True):
    """A traversal that builds z its own (wrong) way from (model, mu, dim, values)."""
    def traverse(model, x, dim, values):
        with torch.no_grad():
            mu, logvar = model.encode(x.reshape(1, -1))
            out = squash(model.decode(build_z(model, mu, logvar, dim, values)))
        return out.reshape(len(values), -1) if flatten else out
    return traverse


def _set(mu, dim, values):
    z = mu.repeat(len(values), 1)
    z[:, dim] = values
    return z


def _add(mu, dim, values):
    z = mu.repeat(len(values), 1)
    z[:, dim] += values
    return z


def _expand_clone(model, x, dim, values):  # written another way: expand, clone, index
    mu = model.encode(x.reshape(1, 784))[0].detach()
    z = mu.expand(len(values), -1).clone()
    z[:, dim] = values
    return torch.sigmoid(model.decode(z)).flatten(1)


TRAVERSE = Cases(
    reference=traverse_reference,
    wrong={
        "the package's traverse": (package_traverse, COPIED),
        "a sample, not mu": (_with_z(lambda m, mu, lv, d, v: _set(m.reparameterize(mu, lv), d, v)),
                             "not a sample"),
        "adds the values": (_with_z(lambda m, mu, lv, d, v: _add(mu, d, v)),
                            "moved *by* each value"),
        "moves every dimension": (_with_z(lambda m, mu, lv, d, v: mu + v[:, None]),
                                  "every latent dimension moves"),
        "sets every dimension": (_with_z(lambda m, mu, lv, d, v: v[:, None].repeat(
            1, mu.shape[1])), "every latent dimension is set"),
        "dimension off by one": (_with_z(lambda m, mu, lv, d, v: _set(mu, d + 1, v)), "dim + 1"),
        "dimension counted from 1": (_with_z(lambda m, mu, lv, d, v: _set(mu, d - 1, v)),
                                     "dim - 1"),
        "logits": (_with_z(lambda m, mu, lv, d, v: _set(mu, d, v), squash=lambda t: t), "logits"),
        "reversed rows": (_with_z(lambda m, mu, lv, d, v: _set(mu, d, v.flip(0))),
                          "reverse order"),
        "values ignored": (_with_z(lambda m, mu, lv, d, v: mu.repeat(len(v), 1)),
                           "do not change"),
        "images not flattened": (_with_z(lambda m, mu, lv, d, v: _set(mu, d, v), flatten=False),
                                 "(steps, 1, 28, 28)"),
        "zero code": (_with_z(lambda m, mu, lv, d, v: _set(torch.zeros_like(mu), d, v)),
                      "check how you build z"),
        "clipped probabilities": (_with_z(lambda m, mu, lv, d, v: _set(mu, d, v),
                                          squash=lambda t: t.clamp(-0.5, 2)), "outside [0, 1]"),
        "numpy": (lambda m, x, d, v: traverse_reference(m, x, d, v).numpy(), "NumPy"),
        "returns None": (lambda m, x, d, v: None, "None"),
        "only one image shape": (lambda m, x, d, v: traverse_reference(m, x, d, v)
                                 if x.dim() == 1 else traverse_reference(m, x, d, v) * 0.5,
                                 "both image shapes"),
    },
    styles={"expand, clone, index": _expand_clone},
    leaks=LEAKS,
)

CASES = {"make_decoder": MAKE_DECODER, "traverse": TRAVERSE}


def test_the_exercises_of_notebook_06_in_order():
    assert [e.name for e in checks.exercises_for("06_convolutional_vae")] == list(CASES)


def test_a_decoder_whose_forward_crashes_is_an_error():
    result = conv_checks.check_make_decoder(lambda d: _Wrap(d, lambda x: 1 / 0))
    assert result.status == "error" and "ZeroDivisionError" in result.message


def test_the_hints_are_sentences_not_codes():
    texts = [check(entry.fn).message for check, cases in (
        (conv_checks.check_make_decoder, MAKE_DECODER), (conv_checks.check_traverse, TRAVERSE))
        for entry in cases.wrongs().values()]
    assert np.mean([len(t) for t in texts]) > 40
