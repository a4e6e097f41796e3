"""Pictures of images, latent spaces and training curves.

Every function draws into ``ax`` when one is given (else into a new figure), returns
the ``Figure`` (made without pyplot, so a cell shows it exactly once when it is the
cell's value), never calls ``plt.show()`` and never changes matplotlib's global style.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import torch
from matplotlib.figure import Figure

from .data import images as as_images
from .models import device_of


def _enable_notebook_display() -> None:
    """In IPython, show a returned Figure as a PNG (the inline backend registers this only
    after ``%matplotlib inline`` or a pyplot figure). An existing choice is kept."""
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import select_figure_formats
    except ImportError:
        return
    ip = get_ipython()
    if ip is None or not hasattr(ip, "display_formatter"):
        return
    try:
        ip.display_formatter.formatters["image/png"].lookup_by_type(Figure)
    except KeyError:
        select_figure_formats(ip, {"png"})


_enable_notebook_display()


def _axes(ax, figsize=(6, 6)):
    # A Figure made directly (not through pyplot) is not kept in pyplot's global list:
    # it is shown once, when a cell returns it, and freed when no longer used.
    if ax is None:
        fig = Figure(figsize=figsize, layout="constrained")
        return fig, fig.subplots()
    return ax.figure, ax


def _to_numpy(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def image_grid(x: torch.Tensor, nrow: int = 10, ax=None, title: str | None = None,
               figsize=None) -> Figure:
    """Show images (N, 784) or (N, 1, 28, 28), values in [0, 1], as one grid."""
    x = as_images(x.detach().float().cpu()).clamp(0, 1)
    from torchvision.utils import make_grid  # torchvision only where a grid is drawn

    grid = make_grid(x, nrow=nrow, padding=2, pad_value=1.0, normalize=False)
    rows = -(-len(x) // nrow)
    fig, ax = _axes(ax, figsize or (min(nrow, len(x)) * 0.6 + 0.4, rows * 0.6 + 0.4))
    ax.imshow(grid[0].numpy(), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig


def reconstructions(x: torch.Tensor, x_hat: torch.Tensor, n: int = 10, ax=None,
                    title: str = "originals (top) and reconstructions (bottom)") -> Figure:
    """Originals above their reconstructions; ``x_hat`` holds probabilities, not logits."""
    n = min(n, len(x))
    pairs = torch.cat([as_images(x[:n].detach().cpu()), as_images(x_hat[:n].detach().cpu())])
    return image_grid(pairs, nrow=n, ax=ax, title=title)


def latent_scatter(z: torch.Tensor, labels: torch.Tensor | None = None, ax=None,
                   title: str | None = None, class_names=None, s: float = 2.0) -> Figure:
    """Scatter 2-D codes (N, 2), coloured by label, with a legend of the classes."""
    z = _to_numpy(z)
    if z.ndim != 2 or z.shape[1] != 2:
        raise ValueError(f"latent_scatter draws 2-D codes of shape (N, 2), got {z.shape}; "
                         f"project higher-dimensional codes first")
    fig, ax = _axes(ax)
    if labels is None:
        ax.scatter(z[:, 0], z[:, 1], s=s, alpha=0.6)
    else:
        labels = _to_numpy(labels)
        cmap = matplotlib.colormaps["tab10"]
        for c in np.unique(labels):
            pts = z[labels == c]
            name = class_names[c] if class_names is not None else str(c)
            ax.scatter(pts[:, 0], pts[:, 1], s=s, alpha=0.6, color=cmap(int(c) % 10), label=name)
        ax.legend(markerscale=4 / max(s, 0.5) * 2, fontsize="small", loc="best", frameon=True)
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    if title:
        ax.set_title(title)
    return fig


def _decoder(decode):
    # A model stands for its decode method; either way, inputs go to its device.
    return decode.decode if isinstance(decode, torch.nn.Module) else decode


@torch.no_grad()
def decode_grid(decode, z1: np.ndarray, z2: np.ndarray) -> torch.Tensor:
    """Decode every point of the grid z1 x z2 (rows go from high z2 to low): (len(z1)*len(z2), 784).

    ``decode`` is a model, its ``decode`` method or a function from z (B, 2) to logits;
    the grid goes to the model's device and the images come back on the CPU.
    """
    zz1, zz2 = np.meshgrid(z1, z2[::-1])
    z = torch.tensor(np.stack([zz1.ravel(), zz2.ravel()], axis=1), dtype=torch.float32)
    return torch.sigmoid(_decoder(decode)(z.to(device_of(decode)))).float().cpu()


def latent_grid(decode, extent=(-3.0, 3.0, -3.0, 3.0), n: int = 15, ax=None,
                title: str | None = None, z1=None, z2=None) -> Figure:
    """Decode an n x n grid over a 2-D latent box and show the images in place.

    Args:
        decode: a model, or a function from z (B, 2) to logits (B, 784), e.g.
            ``model.decode`` (z is put on that model's device).
        extent: (z1_min, z1_max, z2_min, z2_max) of the box.
        z1, z2: explicit grid coordinates (override ``extent``), e.g. Gaussian quantiles.
    """
    z1 = np.linspace(extent[0], extent[1], n) if z1 is None else np.asarray(z1)
    z2 = np.linspace(extent[2], extent[3], n) if z2 is None else np.asarray(z2)
    x_hat = decode_grid(decode, z1, z2)
    fig = image_grid(x_hat, nrow=len(z1), ax=ax, title=title, figsize=(7, 7))
    ax = fig.axes[0] if ax is None else ax
    ax.set_axis_on()
    ax.set_xticks([]), ax.set_yticks([])
    ax.set_xlabel(f"$z_1$ from {z1[0]:.2g} to {z1[-1]:.2g}")
    ax.set_ylabel(f"$z_2$ from {z2[0]:.2g} to {z2[-1]:.2g}")
    return fig


def interpolation_strip(rows: dict[str, torch.Tensor], ax=None, title: str | None = None) -> Figure:
    """One row of images per entry of ``rows`` (name -> (steps, 784) probabilities), labelled."""
    names = list(rows)
    steps = len(next(iter(rows.values())))
    stacked = torch.cat([as_images(r.detach().cpu()) for r in rows.values()])
    fig = image_grid(stacked, nrow=steps, ax=ax, title=title,
                     figsize=(steps * 0.7 + 1.5, len(names) * 0.75 + 0.6))
    ax = fig.axes[0] if ax is None else ax
    ax.set_axis_on()
    ax.set_xticks([])
    cell = 28 + 2  # image side plus padding in make_grid
    ax.set_yticks([2 + cell * i + 14 for i in range(len(names))], names)
    ax.tick_params(left=False)
    for side in ax.spines.values():
        side.set_visible(False)
    return fig


def loss_curves(history: dict[str, list[float]], keys=None, ax=None,
                title: str = "training curves", ylabel: str = "nats per image") -> Figure:
    """Plot the per-epoch curves of a ``fit`` history (all loss keys present by default)."""
    keys = keys or [k for k in ("loss", "test_loss", "recon", "test_recon", "kl", "test_kl")
                    if k in history and any(history[k])]
    fig, ax = _axes(ax, (6, 4))
    for k in keys:
        values = history[k]
        ax.plot(range(1, len(values) + 1), values, marker="o", label=k,
                linestyle="--" if k.startswith("test") else "-")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return fig


def bound_vs_k(bounds: dict[int, float], elbo: float | None = None, truth: float | None = None,
               ax=None, title: str | None = None, label: str = "K-sample bound") -> Figure:
    """The importance-sampling bound on log p(x) against the number of samples K (log axis).

    Args:
        bounds: K -> the bound averaged over images (nats), e.g. from
            :func:`vae_course.likelihood.bound_by_k`.
        elbo: the ELBO on the same images, drawn as a dashed line, with the gap shaded.
        truth: log p(x) computed another way (e.g. by grid integration), a dotted line.
    """
    fig, ax = _axes(ax, (6, 4))
    ks = sorted(bounds)
    values = [bounds[k] for k in ks]
    ax.plot(ks, values, marker="o", label=label)
    if elbo is not None:
        ax.axhline(elbo, color="grey", linestyle="--", label="ELBO")
        ax.fill_between(ks, elbo, values, color="tab:blue", alpha=0.12,
                        label="gap to the ELBO")
    if truth is not None:
        ax.axhline(truth, color="black", linestyle=":", label="log p(x) by grid integration")
    ax.set_xscale("log")
    ax.set_xlabel("K (importance samples per image, log scale)")
    ax.set_ylabel("nats per image")
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small", loc="lower right")
    ax.grid(alpha=0.3)
    return fig
