"""The computations behind the interactive explorers, as pure functions.

Each explorer in :mod:`vae_course.interactive.widgets` only wires sliders to one of these, so
everything an explorer shows can be computed (and tested) without a browser:

* :func:`decode_point` and :func:`direction_point` - the latent explorer;
* :func:`interpolation_frames` - the interpolation explorer;
* :func:`reparam_samples` - the reparameterization sampler;
* :func:`beta_summary` and :func:`beta_models` - the beta explorer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from ..data import IMAGE_SIDE
from ..models import device_of
from ..train import TrainConfig, evaluate
from ..zoo import CATALOGUE, load_or_train


# ---- latent space ------------------------------------------------------------------

@torch.no_grad()
def encode_mean(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
    """The deterministic code of each image: ``z`` for an autoencoder, ``mu`` for a VAE.

    Args:
        model: an :class:`~vae_course.models.Autoencoder` or :class:`~vae_course.models.VAE`.
        x (Tensor): images (N, 784) in [0, 1].

    Returns:
        Tensor (N, latent_dim) on the CPU.
    """
    device = device_of(model)
    codes = []
    for chunk in x.split(batch_size):
        out = model.encode(chunk.to(device))
        codes.append((out[0] if isinstance(out, tuple) else out).cpu())  # VAE: (mu, logvar)
    return torch.cat(codes)


@torch.no_grad()
def decode_point(decode, z) -> np.ndarray:
    """Decode one latent point into pixel probabilities.

    Args:
        decode: a model, or a function from z (B, latent_dim) to logits (B, 784), e.g.
            ``model.decode`` (z is put on that model's device).
        z: one point, shape (latent_dim,) (a list, an array or a tensor on any device).

    Returns:
        float32 array (28, 28) of probabilities in [0, 1].
    """
    if isinstance(z, torch.Tensor):
        z = z.detach().float()
    else:
        z = torch.as_tensor(np.asarray(z, dtype=np.float32))
    z = z.reshape(1, -1).to(device_of(decode))  # (1, latent_dim)
    fn = decode.decode if isinstance(decode, torch.nn.Module) else decode
    return torch.sigmoid(fn(z))[0].reshape(IMAGE_SIDE, IMAGE_SIDE).float().cpu().numpy()


def direction_point(base, d1, d2, a: float, b: float) -> np.ndarray:
    """The point ``base + a * d1 + b * d2``: two sliders move along two directions.

    Args:
        base, d1, d2: arrays of shape (latent_dim,).
        a, b (float): how far to go along ``d1`` and ``d2``.

    Returns:
        float32 array (latent_dim,).
    """
    base, d1, d2 = (np.asarray(v, dtype=np.float32) for v in (base, d1, d2))
    if not base.shape == d1.shape == d2.shape:
        raise ValueError(f"base, d1 and d2 must have the same shape (latent_dim,), got "
                         f"{base.shape}, {d1.shape} and {d2.shape}")
    return base + np.float32(a) * d1 + np.float32(b) * d2


@dataclass(frozen=True)
class Plane:
    """A 2-D slice of the latent space: points ``base + a * d[0] + b * d[1]``."""

    base: np.ndarray  # (latent_dim,)
    d: np.ndarray  # (2, latent_dim), orthonormal rows
    coords: np.ndarray  # (N, 2): (a, b) of each code projected onto the plane


def latent_plane(codes: torch.Tensor, directions=None, base=None) -> Plane:
    """Choose the plane that a latent explorer's two sliders move in.

    Args:
        codes (Tensor): encoded images (N, latent_dim), drawn projected onto the plane.
        directions: None (a 2-D latent: its two axes; larger: the two principal
            directions of ``codes``), a pair of axis numbers such as ``(0, 3)``, or an
            array (2, latent_dim) of two directions (made orthonormal here).
        base: the plane's origin (latent_dim,); default the zero vector, the prior's mean.

    Returns:
        :class:`Plane`.
    """
    c = np.asarray(codes, dtype=np.float32)  # (N, D)
    dim = c.shape[1]
    if dim < 2:
        raise ValueError("a latent explorer needs a latent space of at least 2 dimensions")
    if directions is None and dim == 2:
        directions = (0, 1)
    if directions is None:
        centred = c - c.mean(0)
        d = np.linalg.svd(centred, full_matrices=False)[2][:2]  # top two principal directions
    elif np.ndim(directions) == 1 and len(directions) == 2 and all(
            isinstance(i, (int, np.integer)) for i in directions):
        if len(set(directions)) != 2 or not all(0 <= i < dim for i in directions):
            raise ValueError(f"directions must be two different axes in 0..{dim - 1}, "
                             f"got {directions}")
        d = np.eye(dim, dtype=np.float32)[list(directions)]
    else:
        d = np.asarray(directions, dtype=np.float32)
        if d.shape != (2, dim):
            raise ValueError(f"directions must have shape (2, {dim}), got {d.shape}")
        q, r = np.linalg.qr(d.T)  # orthonormal, d[0] keeps its direction
        d = (q * np.sign(np.diag(r))).T
    base = np.zeros(dim, np.float32) if base is None else np.asarray(base, np.float32)
    d = d.astype(np.float32)
    return Plane(base=base, d=d, coords=(c - base) @ d.T)


# ---- interpolation -----------------------------------------------------------------

def interpolate(z0: torch.Tensor, z1: torch.Tensor, t: float, spherical: bool = False) -> torch.Tensor:
    """The point a fraction ``t`` of the way from ``z0`` to ``z1`` (same shapes).

    Linear: ``(1 - t) z0 + t z1``. Spherical (slerp) follows the great circle and keeps
    the norm typical of Gaussian samples in many dimensions.
    """
    if not spherical:
        return (1 - t) * z0 + t * z1
    cos = torch.nn.functional.cosine_similarity(z0, z1, dim=-1).clamp(-1, 1).unsqueeze(-1)
    omega = torch.arccos(cos)
    if float(omega.abs().max()) < 1e-6:  # (nearly) parallel: slerp tends to lerp
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


@torch.no_grad()
def interpolation_frames(x0: torch.Tensor, x1: torch.Tensor, t: float,
                         models: dict[str, torch.nn.Module],
                         spherical: bool = False) -> dict[str, np.ndarray]:
    """One step of an interpolation between two images, in pixel space and in each latent space.

    Args:
        x0, x1 (Tensor): the two images, (784,) or (1, 784), values in [0, 1].
        t (float): 0 gives ``x0`` (or its reconstruction), 1 gives ``x1``.
        models: name -> model, e.g. ``{"AE": ae, "VAE": vae}``; each code is the
            encoder's mean (see :func:`encode_mean`).
        spherical (bool): slerp instead of a straight line in latent space.

    Returns:
        ``{"pixels": (28, 28), name: (28, 28), ...}`` probabilities, in that order.
    """
    x0, x1 = x0.reshape(1, -1).float().cpu(), x1.reshape(1, -1).float().cpu()
    frames = {"pixels": ((1 - t) * x0 + t * x1).reshape(IMAGE_SIDE, IMAGE_SIDE).numpy()}
    for name, model in models.items():
        z0, z1 = encode_mean(model, torch.cat([x0, x1]))  # (latent_dim,) each
        z = interpolate(z0, z1, t, spherical)
        frames[name] = decode_point(model, z)
    return frames


# ---- reparameterization ------------------------------------------------------------

def reparam_samples(mu: float, logvar: float, n: int = 1000, seed: int = 0) -> np.ndarray:
    """``n`` samples ``z = mu + std * eps`` with ``std = exp(0.5 * logvar)``, ``eps ~ N(0, 1)``.

    The same ``seed`` gives the same ``eps``, so moving ``mu`` shifts the very same
    samples and moving ``logvar`` stretches them: the randomness lives in ``eps`` only.

    Returns:
        float array (n,).
    """
    eps = torch.randn(n, generator=torch.Generator().manual_seed(seed))  # (n,)
    std = torch.exp(torch.tensor(0.5 * float(logvar)))
    return (float(mu) + std * eps).numpy()


# ---- beta --------------------------------------------------------------------------

@dataclass(frozen=True)
class BetaSummary:
    beta: float
    codes: np.ndarray  # (N, latent_dim): encoder means of the images
    samples: np.ndarray  # (n_samples, 784): decoded prior samples, probabilities
    recon: float  # nats per image
    kl: float  # nats per image


@torch.no_grad()
def beta_summary(model: torch.nn.Module, x: torch.Tensor, beta: float, n_samples: int = 16,
                 seed: int = 0) -> BetaSummary:
    """What a VAE trained with weight ``beta`` on the KL does: codes, samples and the loss split.

    Args:
        model: a trained VAE.
        x (Tensor): images (N, 784) to encode and to measure the loss on.
        beta (float): the weight it was trained with (reported, and used in ``loss``).
        n_samples (int): how many z ~ N(0, I) to decode.
        seed (int): seeds the prior samples and the evaluation noise.
    """
    device = device_of(model)
    parts = evaluate(model, x, beta=beta, seed=seed)
    z = torch.randn(n_samples, model.config.latent_dim, generator=torch.Generator().manual_seed(seed))
    samples = torch.sigmoid(model.decode(z.to(device))).float().cpu().numpy()  # (n_samples, 784)
    return BetaSummary(float(beta), encode_mean(model, x).numpy(), samples,
                       parts["recon"], parts["kl"])


def beta_models(betas, train_config: TrainConfig | None = None, model_config=None, *,
                progress: bool = True, device=None,
                **train_settings) -> dict[float, torch.nn.Module]:
    """One VAE per ``beta``, each loaded from the model cache or trained once.

    Args:
        betas: the KL weights, e.g. ``[0, 0.5, 1, 4]``.
        train_config (TrainConfig): settings shared by all; default the course VAE's.
        model_config (ModelConfig): sizes; default the course VAE's (2-D latent).
        device: where the models live (default: CUDA if available, else the CPU).
        **train_settings: replace fields of ``train_config``, e.g. ``epochs=3``.

    Returns:
        ``{beta: model}`` in the order of ``betas``.
    """
    course = CATALOGUE["vae"]
    base = replace(train_config or course.training, **train_settings)
    return {float(b): load_or_train("vae", model_config or course.model,
                                    replace(base, beta=float(b)), device=device,
                                    progress=progress)[0]
            for b in betas}
