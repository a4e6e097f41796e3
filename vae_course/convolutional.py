"""A convolutional VAE: strided convolutions in the encoder, transposed ones in the decoder.

The MLP VAE of :mod:`vae_course.models` sees a 28x28 image as 784 unrelated numbers. A
convolution slides one small filter over every position, so a stroke detector learned
in one corner works everywhere, with far fewer weights per layer. Shapes with the
default sizes (``channels=(32, 64)``, ``latent_dim=16``)::

    encoder  x (B, 1, 28, 28)
             Conv2d(1, 32, 4, stride 2, padding 1) + ReLU    -> (B, 32, 14, 14)
             Conv2d(32, 64, 4, stride 2, padding 1) + ReLU   -> (B, 64, 7, 7)
             Flatten                                         -> (B, 3136)
             to_mu, to_logvar: Linear(3136, 16)              -> (B, 16) each
    decoder  z (B, 16)
             Linear(16, 3136) + ReLU, Unflatten              -> (B, 64, 7, 7)
             ConvTranspose2d(64, 32, 4, stride 2, padding 1) + ReLU -> (B, 32, 14, 14)
             ConvTranspose2d(32, 1, 4, stride 2, padding 1)  -> logits (B, 1, 28, 28)

A strided convolution's output side is ``(H + 2 * padding - kernel) // stride + 1``; a
transposed one's is ``(H - 1) * stride - 2 * padding + kernel + output_padding``. With
kernel 4, stride 2 and padding 1 each layer halves (or doubles) the side exactly.

``decode`` returns logits as images, (B, 1, 28, 28), without a final activation:
``sigmoid`` gives pixel probabilities, and the Bernoulli loss takes the logits.
``forward`` hands them back flattened to (B, 784), like the MLP VAE, so that the
course's losses, ``fit`` and ``evaluate`` apply unchanged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .data import IMAGE_SIDE


@dataclass(frozen=True)
class ConvConfig:
    """Sizes of a convolutional VAE.

    ``channels`` lists the encoder's channels after each strided convolution (each one
    halves the image side, so 28 -> 14 -> 7 for two); the decoder uses them in reverse.
    """

    channels: tuple[int, ...] = (32, 64)
    latent_dim: int = 16
    image_side: int = IMAGE_SIDE

    def __post_init__(self):
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        if self.latent_dim < 1 or not self.channels or any(c < 1 for c in self.channels):
            raise ValueError(f"latent_dim and every channel count must be positive, got {self}")
        if self.image_side % 2 ** len(self.channels):
            raise ValueError(f"image_side {self.image_side} must be divisible by "
                             f"2 ** len(channels) = {2 ** len(self.channels)}")

    @property
    def side(self) -> int:
        """The image side after the last strided convolution (7 for 28 and two layers)."""
        return self.image_side // 2 ** len(self.channels)

    @property
    def features(self) -> int:
        """Numbers per image after the encoder's convolutions: channels * side * side."""
        return self.channels[-1] * self.side ** 2

    def as_dict(self) -> dict:
        return asdict(self)


def encoder(c: ConvConfig) -> nn.Sequential:
    """(B, 1, side, side) -> features (B, channels[-1] * s * s), ending in a ReLU."""
    layers: list[nn.Module] = []
    for n_in, n_out in zip((1, *c.channels[:-1]), c.channels):
        layers += [nn.Conv2d(n_in, n_out, kernel_size=4, stride=2, padding=1), nn.ReLU()]
    return nn.Sequential(*layers, nn.Flatten())


def decoder(c: ConvConfig) -> nn.Sequential:
    """z (B, latent_dim) -> logits (B, 1, side, side); no activation at the end."""
    layers: list[nn.Module] = [nn.Linear(c.latent_dim, c.features), nn.ReLU(),
                               nn.Unflatten(1, (c.channels[-1], c.side, c.side))]
    outs = (*reversed(c.channels[:-1]), 1)
    for i, (n_in, n_out) in enumerate(zip(reversed(c.channels), outs)):
        layers.append(nn.ConvTranspose2d(n_in, n_out, kernel_size=4, stride=2, padding=1))
        if i < len(outs) - 1:  # logits at the end: no ReLU, no sigmoid
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def as_images(x: torch.Tensor, side: int = IMAGE_SIDE) -> torch.Tensor:
    """Accept (B, 784) or (B, 1, 28, 28) alike; return (B, 1, 28, 28)."""
    if x.dim() < 2 or x[0].numel() != side * side:
        raise ValueError(f"expected a batch of {side}x{side} images, shape (B, {side * side}) "
                         f"or (B, 1, {side}, {side}), got shape {tuple(x.shape)}")
    return x.reshape(x.shape[0], 1, side, side)


class ConvVAE(nn.Module):
    """A VAE with a convolutional encoder q(z|x) = N(mu, diag(exp(logvar))) and decoder."""

    def __init__(self, config: ConvConfig | None = None, **sizes):
        super().__init__()
        self.config = config or ConvConfig(**sizes)
        c = self.config
        self.encoder = encoder(c)
        self.to_mu = nn.Linear(c.features, c.latent_dim)
        self.to_logvar = nn.Linear(c.features, c.latent_dim)
        self.decoder = decoder(c)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (B, 784) or (B, 1, 28, 28) -> (mu, logvar), each (B, latent_dim)."""
        h = self.encoder(as_images(x, self.config.image_side))  # (B, features)
        return self.to_mu(h), self.to_logvar(h)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """z = mu + std * eps with eps ~ N(0, I), in training and evaluation alike."""
        std = torch.exp(0.5 * logvar)  # (B, latent_dim)
        return mu + std * torch.randn_like(std)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, latent_dim) -> logits (B, 1, 28, 28); ``sigmoid`` gives pixel probabilities."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (logits (B, 784), mu, logvar): flat logits, as the MLP VAE returns them."""
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar)
        return self.decode(z).flatten(1), mu, logvar


def n_parameters(model: nn.Module) -> int:
    """How many numbers the model learns."""
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def traverse(model: nn.Module, x: torch.Tensor, dim: int, values: torch.Tensor) -> torch.Tensor:
    """Decode the code of one image while latent dimension ``dim`` takes each of ``values``.

    The code is the encoder's mean ``mu`` (no sampling); every other dimension keeps its
    value, and dimension ``dim`` is *set* to each value in turn.

    Args:
        model: a VAE (``encode -> (mu, logvar)``, ``decode -> logits``), on any device.
        x (Tensor): one image, (784,), (1, 784) or (1, 1, 28, 28).
        dim (int): the latent dimension to move, from 0.
        values (Tensor): (steps,) the values it takes.

    Returns:
        Tensor (steps, 784) of pixel probabilities, on the CPU.
    """
    device = next(model.parameters()).device
    values = torch.as_tensor(values, dtype=torch.float32)
    mu, _ = model.encode(x.reshape(1, -1).to(device))  # (1, latent_dim)
    z = mu.repeat(len(values), 1)  # (steps, latent_dim): one copy of the code per step
    z[:, dim] = values.to(device)
    return torch.sigmoid(model.decode(z)).reshape(len(values), -1).cpu()  # (steps, 784)
