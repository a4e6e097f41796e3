"""An MLP autoencoder and an MLP variational autoencoder.

Both follow the public shape of the PyTorch VAE example: ``encode``, ``decode`` and
``forward``, plus ``reparameterize`` for the VAE. The decoder returns *logits*: the
pixel probabilities are ``torch.sigmoid(logits)``, and the Bernoulli reconstruction
loss is computed from the logits directly, which is numerically safer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .data import IMAGE_PIXELS


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of an MLP (variational) autoencoder.

    ``hidden`` lists the encoder's hidden widths from the input side; the decoder
    uses them in reverse. ``ModelConfig(hidden=(400,), latent_dim=20)`` is the
    784-400-20 model of the PyTorch VAE example.
    """

    input_dim: int = IMAGE_PIXELS
    hidden: tuple[int, ...] = (512, 256)
    latent_dim: int = 2

    def __post_init__(self):
        if self.latent_dim < 1 or self.input_dim < 1 or any(h < 1 for h in self.hidden):
            raise ValueError(f"all sizes must be positive, got {self}")
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))

    def as_dict(self) -> dict:
        return asdict(self)


def mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers between consecutive ``sizes`` with ReLU between them (none at the end)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def flat_input(x: torch.Tensor, input_dim: int) -> torch.Tensor:
    """A batch (B, 784) or (B, 1, 28, 28) as rows (B, input_dim), with a clear error otherwise."""
    if x.dim() < 2 or x[0].numel() != input_dim:
        raise ValueError(f"expected a batch of inputs with {input_dim} values each "
                         f"(shape (B, {input_dim}) or (B, 1, 28, 28)), got shape {tuple(x.shape)}")
    return x.reshape(x.shape[0], input_dim)


class Autoencoder(nn.Module):
    """A deterministic autoencoder: x -> z -> logits of x_hat."""

    def __init__(self, config: ModelConfig | None = None, **sizes):
        super().__init__()
        self.config = config or ModelConfig(**sizes)
        c = self.config
        self.encoder = mlp([c.input_dim, *c.hidden, c.latent_dim])
        self.decoder = mlp([c.latent_dim, *reversed(c.hidden), c.input_dim])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 784) -> z of shape (B, latent_dim)."""
        return self.encoder(flat_input(x, self.config.input_dim))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) -> logits of shape (B, 784); ``sigmoid`` gives pixel probabilities."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class VAE(nn.Module):
    """A variational autoencoder with a diagonal Gaussian encoder q(z|x) = N(mu, diag(exp(logvar)))."""

    def __init__(self, config: ModelConfig | None = None, **sizes):
        super().__init__()
        self.config = config or ModelConfig(**sizes)
        c = self.config
        *body, last = [c.input_dim, *c.hidden]
        # Shared trunk (ending in a ReLU), then two heads: one per parameter of q(z|x).
        self.encoder = nn.Sequential(mlp([*body, last]), nn.ReLU()) if body else nn.Identity()
        self.to_mu = nn.Linear(last, c.latent_dim)
        self.to_logvar = nn.Linear(last, c.latent_dim)
        self.decoder = mlp([c.latent_dim, *reversed(c.hidden), c.input_dim])

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 784) -> (mu, logvar), each (B, latent_dim)."""
        h = self.encoder(flat_input(x, self.config.input_dim))
        return self.to_mu(h), self.to_logvar(h)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """z = mu + std * eps with eps ~ N(0, I): a sample that gradients flow through.

        It always samples, in training and evaluation alike (use ``mu`` itself for a
        deterministic code).
        """
        std = torch.exp(0.5 * logvar)  # (B, latent_dim)
        eps = torch.randn_like(std)
        return mu + std * eps

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) -> logits of shape (B, 784)."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (logits, mu, logvar) for a batch x."""
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


@dataclass(frozen=True)
class ClassifierConfig:
    """Sizes of an MLP classifier: ``input_dim`` -> ``hidden`` -> ``n_classes``."""

    input_dim: int = IMAGE_PIXELS
    hidden: tuple[int, ...] = (256,)
    n_classes: int = 10

    def __post_init__(self):
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))

    def as_dict(self) -> dict:
        return asdict(self)


class MeanDecodedVAE(VAE):
    """The VAE with one change, for controls: its decoder is fed mu itself, never a sample.

    The loss is unchanged, KL term included; logvar then enters only the KL term. Compared
    with :class:`VAE` under the same training, it isolates what the noise in the codes does.
    """

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return mu  # (B, latent_dim): no noise


class DigitClassifier(nn.Module):
    """A small MLP classifier, (B, 784) -> class logits (B, n_classes); used to judge samples."""

    def __init__(self, config: ClassifierConfig | None = None, **sizes):
        super().__init__()
        self.config = config or ClassifierConfig(**sizes)
        self.net = mlp([self.config.input_dim, *self.config.hidden, self.config.n_classes])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(flat_input(x, self.config.input_dim))


def device_of(model) -> torch.device:
    """Where ``model`` computes: the device of its parameters.

    Accepts a module or one of its bound methods (``model.decode``), so a function given
    either can move its inputs there. A plain function has no parameters to go by: its
    inputs stay on the CPU.
    """
    owner = getattr(model, "__self__", model)  # a bound method: the module it belongs to
    if isinstance(owner, nn.Module):
        for tensor in owner.parameters():
            return tensor.device
        for tensor in owner.buffers():
            return tensor.device
    return torch.device("cpu")
