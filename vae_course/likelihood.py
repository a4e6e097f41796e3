"""log p(x) by importance sampling: the K-sample bound of Burda et al. (2016).

The VAE's probability of an image is an integral over codes,

    p(x) = integral p(z) p(x|z) dz = E_{z ~ q(z|x)} [ p(x|z) p(z) / q(z|x) ],

so K codes drawn from the encoder's q(z|x) give the estimate

    log p(x) ~ log (1/K) sum_k w_k,    log w_k = log p(x|z_k) + log p(z_k) - log q(z_k|x).

Its expectation is a lower bound on log p(x) that rises with K: K = 1 is the ELBO,
and it tends to log p(x) as K grows (Burda, Grosse & Salakhutdinov, "Importance
Weighted Autoencoders", ICLR 2016). The log-weights of an MNIST image are hundreds of
nats below zero, where ``exp`` underflows, so the average is taken in log space
(:func:`log_mean_exp`). Everything here is in nats per image.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2 * math.pi)


def log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))), summed over the last dimension (the latent one)."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) / logvar.exp()).sum(dim=-1)


def log_importance_weights(x: torch.Tensor, logits: torch.Tensor, z: torch.Tensor,
                           mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log w = log p(x|z) + log p(z) - log q(z|x) for K codes per image.

    log p(x|z) is the Bernoulli log-likelihood of the decoder's logits (minus the binary
    cross-entropy, summed over pixels), p(z) = N(0, I) and q(z|x) = N(mu, diag(exp(logvar))).

    Args:
        x (Tensor): images in [0, 1], (B, 784).
        logits (Tensor): the decoder's output for each code, (B, K, 784).
        z (Tensor): the codes, drawn from q(z|x), (B, K, D).
        mu, logvar (Tensor): the encoder's output, (B, D) each.

    Returns:
        Tensor: log-weights, (B, K), nats.
    """
    x = x.reshape(x.shape[0], -1, 1).to(logits.dtype)  # (B, 784, 1): one image, K codes
    # sum_i x_i log sigmoid(l_i) + (1 - x_i) log(1 - sigmoid(l_i)) = sum_i x_i l_i - softplus(l_i):
    # minus the binary cross-entropy with logits, in two passes over the (B, K, 784) logits.
    log_px_z = torch.matmul(logits, x).squeeze(-1) - F.softplus(logits).sum(dim=-1)  # (B, K)
    log_pz = log_normal(z, torch.zeros_like(z), torch.zeros_like(z))  # (B, K)
    log_qz = log_normal(z, mu.unsqueeze(1), logvar.unsqueeze(1))  # (B, K)
    return log_px_z + log_pz - log_qz


def log_mean_exp(log_w: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """log( mean_k exp(log_w_k) ) along ``dim``, without underflow or overflow.

    The largest value m is taken out first: log mean exp(a) = m + log mean exp(a - m),
    where every exp(a - m) lies in (0, 1] and the largest is exactly 1.
    """
    m = log_w.amax(dim=dim, keepdim=True)
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))  # all -inf: leave them so
    return (m + (log_w - m).exp().mean(dim=dim, keepdim=True).log()).squeeze(dim)


@torch.no_grad()
def log_weights(model: torch.nn.Module, x: torch.Tensor, n_samples: int = 1000, *,
                seed: int = 0, chunk: int = 16384) -> torch.Tensor:
    """The log importance weights of ``n_samples`` codes per image, under a VAE.

    Images and codes are processed in pieces of at most ``chunk`` codes, on the model's
    device. The noise comes from a CPU generator seeded with ``seed``, so a given seed
    draws the same codes on every device.

    Args:
        model: a VAE with ``encode(x) -> (mu, logvar)`` and ``decode(z) -> logits``.
        x (Tensor): images, (N, 784).
        n_samples (int): K, codes per image.
        seed (int): seed of the noise.
        chunk (int): most codes decoded at once (memory: chunk * 784 floats).

    Returns:
        Tensor: (N, K) log-weights on the CPU, float64.
    """
    if n_samples < 1 or chunk < 1:
        raise ValueError(f"n_samples and chunk must be positive, got {n_samples} and {chunk}")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    per_step = min(n_samples, chunk)  # codes per image in one step
    images_per_step = max(1, chunk // per_step)
    rows = []
    for start in range(0, len(x), images_per_step):
        xb = x[start:start + images_per_step].to(device)
        xb = xb.reshape(len(xb), -1)  # (b, 784)
        mu, logvar = model.encode(xb)  # (b, D) each
        std = torch.exp(0.5 * logvar)
        pieces = []
        for k0 in range(0, n_samples, per_step):
            k = min(per_step, n_samples - k0)
            eps = torch.randn(len(xb), k, mu.shape[1], generator=generator).to(device)
            z = mu.unsqueeze(1) + std.unsqueeze(1) * eps  # (b, k, D)
            logits = model.decode(z.reshape(-1, z.shape[-1])).reshape(len(xb), k, -1)
            pieces.append(log_importance_weights(xb, logits, z, mu, logvar).double().cpu())
        rows.append(torch.cat(pieces, dim=1))
    model.train(was_training)
    return torch.cat(rows, dim=0)


def estimate(model: torch.nn.Module, x: torch.Tensor, n_samples: int = 1000, *,
             seed: int = 0, chunk: int = 16384) -> torch.Tensor:
    """The K-sample estimate of log p(x) for each image: (N,) on the CPU, nats."""
    return log_mean_exp(log_weights(model, x, n_samples, seed=seed, chunk=chunk), dim=1)


def bound_by_k(log_w: torch.Tensor, ks: list[int]) -> dict[int, float]:
    """The K-sample bound, averaged over images, for each K in ``ks``, from (N, S) log-weights.

    Each row's S weights are cut into S // K disjoint groups of K; the bound is the mean,
    over images and groups, of log_mean_exp of a group. K = 1 is the (Monte-Carlo) ELBO.
    """
    n, s = log_w.shape
    out = {}
    for k in ks:
        if not 1 <= k <= s:
            raise ValueError(f"K = {k} needs at least {k} log-weights per image, got {s}")
        groups = log_w[:, : (s // k) * k].reshape(n, s // k, k)  # (N, S // K, K)
        out[k] = log_mean_exp(groups, dim=2).mean().item()
    return out


@torch.no_grad()
def grid_log_px(model: torch.nn.Module, x: torch.Tensor, limit: float = 5.0,
                step: float = 0.025, chunk: int = 16384) -> torch.Tensor:
    """log p(x) of a 2-D VAE by numerical integration over a grid of codes: (N,), CPU.

    p(x) = integral p(x|z) p(z) dz is approximated by the sum over the grid's points
    (spacing ``step`` on [-limit, limit]^2) of p(x|z) p(z) step^2. No encoder and no
    sampling: an independent check of the importance-sampling estimate. The codes are
    decoded once, in pieces of ``chunk``, for all images together.
    """
    if model.config.latent_dim != 2:
        raise ValueError(f"a grid covers a 2-D latent space only; this model has latent_dim "
                         f"= {model.config.latent_dim}: use estimate() instead")
    device = next(model.parameters()).device
    ticks = torch.arange(-limit, limit + step / 2, step)
    grid = torch.cartesian_prod(ticks, ticks)  # (G, 2)
    xb = x.reshape(len(x), -1).to(device)  # (N, 784)
    total = torch.full((len(x),), -torch.inf, dtype=torch.float64)
    for start in range(0, len(grid), chunk):
        z = grid[start:start + chunk].to(device)  # (c, 2)
        logits = model.decode(z)  # (c, 784)
        log_px_z = xb @ logits.T - F.softplus(logits).sum(dim=1)  # (N, c)
        log_joint = log_px_z + log_normal(z, torch.zeros_like(z), torch.zeros_like(z))
        total = torch.logaddexp(total, torch.logsumexp(log_joint, dim=1).double().cpu())
    return total + 2 * math.log(step)


@torch.no_grad()
def log_joint_grid(model: torch.nn.Module, x: torch.Tensor, z1: torch.Tensor,
                   z2: torch.Tensor) -> torch.Tensor:
    """log p(x, z) = log p(x|z) + log p(z) of one image x (784,) at each grid point of a
    2-D VAE: (len(z2), len(z1)) on the CPU, rows along z2 (as an image is drawn)."""
    device = next(model.parameters()).device
    zz2, zz1 = torch.meshgrid(z2, z1, indexing="ij")
    z = torch.stack([zz1.flatten(), zz2.flatten()], dim=1).to(device)  # (G, 2)
    logits = model.decode(z)  # (G, 784)
    xb = x.reshape(-1).to(device)
    log_joint = logits @ xb - F.softplus(logits).sum(dim=1) + log_normal(
        z, torch.zeros_like(z), torch.zeros_like(z))
    return log_joint.reshape(len(z2), len(z1)).cpu()


def binarize(x: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Binary images: each pixel is 1 with probability its grey level (a seeded draw).

    This is how the binarized MNIST of the published likelihood benchmarks is made.
    """
    return torch.bernoulli(x, generator=torch.Generator().manual_seed(seed))


def grey_level_ceiling(x: torch.Tensor) -> torch.Tensor:
    """The most a Bernoulli log-likelihood can give a grey-level image: -sum_i H(x_i), (N,).

    For a grey value x_i in (0, 1), x_i log p + (1 - x_i) log(1 - p) is largest at
    p = x_i, where it equals minus the binary entropy H(x_i) > 0. So no decoder, however
    good, reaches 0 on grey images, while on binary images (H = 0) it can.
    """
    x = x.reshape(x.shape[0], -1).double()
    entropy = -(torch.xlogy(x, x) + torch.xlogy(1 - x, 1 - x))  # (N, 784), 0 at 0 and 1
    return -entropy.sum(dim=1)
