"""log p(x) by importance sampling: the K-sample bound of Burda et al. (2016).

p(x) = integral p(z) p(x|z) dz = E_{z ~ q(z|x)} [p(x|z) p(z) / q(z|x)], so K codes drawn
from the encoder's q(z|x) give log p(x) ~ log (1/K) sum_k w_k, with the log-weights
log w_k = log p(x|z_k) + log p(z_k) - log q(z_k|x). Its expectation is a lower bound on
log p(x) that rises with K: K = 1 is the ELBO, and it tends to log p(x) as K grows (Burda,
Grosse & Salakhutdinov, "Importance Weighted Autoencoders", ICLR 2016). The log-weights of
most MNIST images lie more than a hundred nats below zero, where ``exp`` underflows in
float32, so the average is taken in log space (:func:`log_mean_exp`). All in nats per image.

:func:`best_gaussian` fits each image's own Gaussian, to split the gap between log p(x)
and the ELBO as Cremer, Li & Duvenaud do ("Inference Suboptimality in Variational
Autoencoders", ICML 2018); for a 2-D VAE a grid gives log p(x) and the posterior itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .models import device_of

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
                seed: int = 0, chunk: int = 16384,
                proposal: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
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
        proposal: (mu, logvar), each (N, D), of another diagonal Gaussian per image to
            draw the codes from (e.g. :func:`best_gaussian`'s); None: the encoder's q(z|x).

    Returns:
        Tensor: (N, K) log-weights on the CPU, float64.
    """
    if n_samples < 1 or chunk < 1:
        raise ValueError(f"n_samples and chunk must be positive, got {n_samples} and {chunk}")
    if proposal is not None and any(len(t) != len(x) for t in proposal):
        raise ValueError(f"the proposal needs one (mu, logvar) row per image: {len(x)} images, "
                         f"{[len(t) for t in proposal]} rows")
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
        if proposal is None:
            mu, logvar = model.encode(xb)  # (b, D) each
        else:
            mu, logvar = (t[start:start + images_per_step].to(device) for t in proposal)
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
             seed: int = 0, chunk: int = 16384,
             proposal: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """The K-sample estimate of log p(x) for each image: (N,) on the CPU, nats.

    ``proposal`` as in :func:`log_weights` (None: the encoder's q(z|x))."""
    return log_mean_exp(log_weights(model, x, n_samples, seed=seed, chunk=chunk,
                                    proposal=proposal), dim=1)


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
def grid_integral(model: torch.nn.Module, x: torch.Tensor, limit: float = 5.0,
                  step: float = 0.025, edge: float = 0.5,
                  chunk: int = 16384) -> tuple[torch.Tensor, torch.Tensor]:
    """log p(x) of a 2-D VAE by numerical integration, and the share of each image's
    posterior on the grid's outer ring (a band ``edge`` wide): ((N,), (N,)) on the CPU.

    p(x) = integral p(x|z) p(z) dz is approximated by the Riemann sum of p(x|z) p(z) step^2
    over a grid of spacing ``step`` on [-limit, limit]^2: no encoder and no sampling, an
    independent check of importance sampling. Mass on the ring hints at mass beyond the
    grid, which the sum leaves out. The codes are decoded once for all images.
    """
    if model.config.latent_dim != 2:
        raise ValueError(f"a grid covers a 2-D latent space only; this model has latent_dim "
                         f"= {model.config.latent_dim}: use estimate() instead")
    device = device_of(model)
    ticks = torch.arange(-limit, limit + step / 2, step)
    grid = torch.cartesian_prod(ticks, ticks)  # (G, 2)
    xb = x.reshape(len(x), -1).to(device)  # (N, 784)
    total = torch.full((len(x),), -torch.inf, dtype=torch.float64)
    ring = total.clone()
    for start in range(0, len(grid), chunk):
        z = grid[start:start + chunk].to(device)  # (c, 2)
        logits = model.decode(z)  # (c, 784)
        log_px_z = xb @ logits.T - F.softplus(logits).sum(dim=1)  # (N, c)
        log_joint = log_px_z + log_normal(z, torch.zeros_like(z), torch.zeros_like(z))
        total = torch.logaddexp(total, torch.logsumexp(log_joint, dim=1).double().cpu())
        outer = z.abs().amax(dim=1) > limit - edge  # (c,) points on the ring
        if outer.any():
            ring = torch.logaddexp(ring, torch.logsumexp(log_joint[:, outer], dim=1).double().cpu())
    return total + 2 * math.log(step), (ring - total).exp()


def grid_log_px(model: torch.nn.Module, x: torch.Tensor, limit: float = 5.0,
                step: float = 0.025, chunk: int = 16384) -> torch.Tensor:
    """log p(x) of a 2-D VAE, (N,): the first part of :func:`grid_integral`."""
    return grid_integral(model, x, limit, step, chunk=chunk)[0]


@torch.no_grad()
def log_joint_grid(model: torch.nn.Module, x: torch.Tensor, z1: torch.Tensor,
                   z2: torch.Tensor) -> torch.Tensor:
    """log p(x, z) = log p(x|z) + log p(z) of one image x (784,) at each grid point of a
    2-D VAE: (len(z2), len(z1)) on the CPU, rows along z2 (as an image is drawn)."""
    device = device_of(model)
    zz2, zz1 = torch.meshgrid(z2, z1, indexing="ij")
    z = torch.stack([zz1.flatten(), zz2.flatten()], dim=1).to(device)  # (G, 2)
    logits = model.decode(z)  # (G, 784)
    xb = x.reshape(-1).to(device)
    log_joint = logits @ xb - F.softplus(logits).sum(dim=1) + log_normal(
        z, torch.zeros_like(z), torch.zeros_like(z))
    return log_joint.reshape(len(z2), len(z1)).cpu()


def gaussian_elbo(model: torch.nn.Module, x: torch.Tensor, mu: torch.Tensor,
                  logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """Each image's ELBO under its own q = N(mu, diag(exp(logvar))): (B,) on the CPU, nats.

    E_q[log p(x|z)] is averaged over the codes mu + std * eps (eps: (B, n, D) standard
    normal), the KL to N(0, I) is the closed form; x is (B, 784), mu and logvar (B, D).
    Gradients reach ``mu`` and ``logvar``.
    """
    device = device_of(model)
    x, mu, logvar, eps = (t.to(device) for t in (x, mu, logvar, eps))
    z = mu[:, None] + torch.exp(0.5 * logvar)[:, None] * eps  # (B, n, D)
    logits = model.decode(z.reshape(-1, mu.shape[1])).reshape(len(x), eps.shape[1], -1)
    pixels = x.reshape(len(x), -1, 1).to(logits.dtype)  # (B, 784, 1)
    log_px_z = torch.matmul(logits, pixels).squeeze(-1) - F.softplus(logits).sum(dim=-1)  # (B, n)
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)  # (B,)
    return (log_px_z.mean(dim=1) - kl).cpu()


def best_gaussian(model: torch.nn.Module, x: torch.Tensor, steps: int = 100, samples: int = 4,
                  lr: float = 0.05, seed: int = 0,
                  start: tuple[torch.Tensor, torch.Tensor] | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image, a diagonal Gaussian q*(z|x) that maximises its ELBO, the decoder fixed:
    (mu, logvar), each (B, D) on the CPU.

    ``steps`` Adam steps on all images' (mu, logvar) at once, from ``start`` ((B, D) each;
    None: the encoder's q(z|x)), each step with ``samples`` fresh codes per image (seeded CPU
    noise). The ELBO can have several optima in (mu, logvar): the ascent finds one near its
    start, and a short, noisy ascent may stop short even of that. The weights stay as they were.
    """
    device = device_of(model)
    x = x.reshape(len(x), -1).to(device)
    with torch.no_grad():
        mu0, logvar0 = model.encode(x) if start is None else (t.to(device) for t in start)
    mu, logvar = mu0.clone().requires_grad_(True), logvar0.clone().requires_grad_(True)
    opt, g = torch.optim.Adam([mu, logvar], lr=lr), torch.Generator().manual_seed(seed)
    needs_grad = [p.requires_grad for p in model.parameters()]
    model.requires_grad_(False)  # the decoder stays as it is
    try:
        with torch.enable_grad():  # also when called under torch.no_grad()
            for _ in range(steps):
                eps = torch.randn(len(x), samples, mu.shape[1], generator=g)  # (B, samples, D)
                loss = -gaussian_elbo(model, x, mu, logvar, eps).sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
    finally:
        for p, needed in zip(model.parameters(), needs_grad):
            p.requires_grad_(needed)
    return mu.detach().cpu(), logvar.detach().cpu()


@dataclass(frozen=True)
class PosteriorView:
    """One image's posterior p(z|x) under a 2-D VAE on an n x n grid, beside Gaussians."""

    z1: torch.Tensor  # (n,) the grid's ticks along z1
    z2: torch.Tensor  # (n,) and along z2
    log_post: torch.Tensor  # (n, n), rows along z2: log p(x, z) = log p(z|x) + log p(x)
    mean: torch.Tensor  # (2,) the posterior's mean
    corr: float  # the posterior's correlation of z1 and z2 (0: its contours are not tilted)
    log_q: dict[str, torch.Tensor]  # each Gaussian's log-density on the grid, (n, n)

    def apart(self, mu: torch.Tensor, logvar: torch.Tensor) -> float:
        """How far the posterior's mean lies from ``mu``, in standard deviations exp(logvar / 2)."""
        return ((self.mean - mu.reshape(-1).cpu()) / torch.exp(0.5 * logvar.reshape(-1).cpu())
                ).norm().item()

    def log_reach(self, name: str) -> float:
        """log P(a code drawn from Gaussian ``name`` lands where p(z|x) >= 1/10 of its peak)."""
        cell = math.log((self.z1[1] - self.z1[0]).item() * (self.z2[1] - self.z2[0]).item())
        near_peak = self.log_post >= self.log_post.max() - math.log(10)
        return (torch.logsumexp(self.log_q[name][near_peak], dim=0) + cell).item()


@torch.no_grad()
def posterior_view(model: torch.nn.Module, x: torch.Tensor,
                   gaussians: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None,
                   n: int = 150, limit: float = 5.0) -> PosteriorView:
    """The posterior of one image x (784,) under a 2-D VAE, on a grid that frames it and
    each named Gaussian (mu, logvar), (2,) each, out to 4 of its standard deviations."""
    gaussians = {k: tuple(t.reshape(-1).cpu() for t in g) for k, g in (gaussians or {}).items()}
    coarse = torch.linspace(-limit, limit, 101)
    post = log_joint_grid(model, x, coarse, coarse)  # (101, 101)
    rows, cols = torch.nonzero(post > post.max() - 9, as_tuple=True)  # above 1e-4 of the peak
    low = [torch.stack([coarse[cols].min(), coarse[rows].min()])]
    high = [torch.stack([coarse[cols].max(), coarse[rows].max()])]
    for mu, logvar in gaussians.values():
        low.append(mu - 4 * torch.exp(0.5 * logvar))
        high.append(mu + 4 * torch.exp(0.5 * logvar))
    low, high = torch.stack(low).amin(dim=0), torch.stack(high).amax(dim=0)
    pad = 0.15 * (high - low)
    z1 = torch.linspace(low[0] - pad[0], high[0] + pad[0], n)
    z2 = torch.linspace(low[1] - pad[1], high[1] + pad[1], n)
    post = log_joint_grid(model, x, z1, z2)  # (n, n)
    zz2, zz1 = torch.meshgrid(z2, z1, indexing="ij")
    w = torch.softmax(post.flatten(), dim=0).reshape(post.shape)  # p(z|x) on the grid
    mean = torch.stack([(w * zz1).sum(), (w * zz2).sum()])
    d1, d2 = zz1 - mean[0], zz2 - mean[1]
    corr = (w * d1 * d2).sum() / ((w * d1 ** 2).sum() * (w * d2 ** 2).sum()).sqrt()
    grid = torch.stack([zz1, zz2], dim=-1)  # (n, n, 2)
    return PosteriorView(z1, z2, post, mean, corr.item(),
                         {k: log_normal(grid, mu, lv) for k, (mu, lv) in gaussians.items()})


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
