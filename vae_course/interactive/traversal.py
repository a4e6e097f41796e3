"""A latent traversal explorer: choose an image and some latent dimensions, see them move.

The widget is a thin layer over :func:`traversal_rows` (a pure function that tests call
without a browser): one row of decoded images per chosen dimension, that dimension set
to evenly spaced values from ``-span`` to ``+span`` while the image's other code values
stay put. Moving the span slider, picking other dimensions or another image redraws it.
"""

from __future__ import annotations

import ipywidgets as w
import numpy as np
import torch

from .. import losses, plots
from ..convolutional import traverse
from .raster import figure_pixels, to_png
from .widgets import Explorer

__all__ = ["active_dimensions", "traversal_explorer", "traversal_rows"]


def traversal_rows(model: torch.nn.Module, x: torch.Tensor, dims, span: float = 3.0,
                   steps: int = 9) -> np.ndarray:
    """Decode the traversal of each dimension in ``dims`` for one image.

    Args:
        model: a trained VAE (``encode -> (mu, logvar)``, ``decode -> logits``).
        x (Tensor): one image, (784,).
        dims: latent dimensions to move, e.g. ``[3, 7]``.
        span (float): each dimension takes ``steps`` values from ``-span`` to ``+span``.
        steps (int): images per row.

    Returns:
        float32 array (len(dims), steps, 784) of pixel probabilities.
    """
    dims = [int(d) for d in dims]
    latent_dim = model.to_mu.out_features
    if not dims or not all(0 <= d < latent_dim for d in dims):
        raise ValueError(f"choose at least one latent dimension in 0..{latent_dim - 1}, got {dims}")
    values = torch.linspace(-float(span), float(span), steps)  # (steps,)
    return np.stack([traverse(model, x, d, values).numpy() for d in dims])


@torch.no_grad()
def active_dimensions(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
    """The KL of each latent dimension, averaged over the images ``x`` (N, 784): (latent_dim,)."""
    device = next(model.parameters()).device
    total, n = None, 0
    for chunk in x.split(batch_size):
        mu, logvar = model.encode(chunk.to(device))
        kl = losses.kl_per_dimension(mu, logvar).cpu() * len(chunk)  # (latent_dim,)
        total, n = (kl if total is None else total + kl), n + len(chunk)
    return total / n


def _picture(rows: np.ndarray, dims, span: float, title: str) -> np.ndarray:
    steps = rows.shape[1]
    strips = {f"z{d}": torch.from_numpy(r) for d, r in zip(dims, rows)}  # name -> (steps, 784)
    fig = plots.interpolation_strip(strips, title=title)
    fig.axes[0].set_xlabel(f"each row: that dimension from {-span:g} to {span:g} in {steps} steps")
    return figure_pixels(fig)


def traversal_explorer(model: torch.nn.Module, x: torch.Tensor, labels=None, *, dims=None,
                       index: int = 0, span: float = 3.0, steps: int = 9, kl=None,
                       class_names=None) -> Explorer:
    """Choose an image, latent dimensions and a span; the traversal of each dimension follows.

    Args:
        model: a trained VAE.
        x (Tensor): images to pick from (N, 784).
        labels (Tensor): their classes (N,), shown in the caption.
        dims: the dimensions shown first; default the four with the largest KL.
        index (int): the image shown first.
        span (float): the first span of the values.
        kl (Tensor): KL per dimension (latent_dim,), shown next to each dimension's name;
            computed from ``x`` when not given.
        class_names: names of the classes, for the caption.

    Returns:
        :class:`~vae_course.interactive.widgets.Explorer` with ``controls`` ``"image"``,
        ``"dims"`` and ``"span"``, and ``images`` ``"traversal"``.
    """
    kl = active_dimensions(model, x) if kl is None else torch.as_tensor(kl)
    order = kl.argsort(descending=True).tolist()
    dims = sorted(order[:4]) if dims is None else [int(d) for d in dims]
    controls = {
        "image": w.BoundedIntText(value=index, min=0, max=len(x) - 1, description="image",
                                  layout=w.Layout(width="200px")),
        "dims": w.SelectMultiple(options=[(f"z{d} (KL {kl[d]:.2f})", d) for d in range(len(kl))],
                                 value=tuple(dims), description="dimensions", rows=6),
        "span": w.FloatSlider(value=span, min=0.5, max=5.0, step=0.25, description="span",
                              readout_format=".2f"),
    }
    caption = w.HTML()

    def title(i):
        if labels is None:
            return f"traversals of image {i}"
        y = int(labels[i])
        return f"traversals of image {i} ({class_names[y] if class_names else y})"

    def draw(i, chosen, s):
        chosen = sorted(chosen) or [order[0]]
        return _picture(traversal_rows(model, x[i], chosen, s, steps), chosen, s, title(i))

    first = to_png(draw(index, dims, span))
    image = w.Image(value=first, format="png")

    def update(_=None):
        i, chosen, s = controls["image"].value, controls["dims"].value, controls["span"].value
        image.value = to_png(draw(i, chosen, s))
        caption.value = (f"{len(chosen) or 1} dimension(s), values from {-s:g} to {s:g}; "
                         f"the other dimensions keep image {i}'s code")

    update()
    for c in controls.values():
        c.observe(update, names="value")
    box = w.VBox([w.HBox([controls["image"], controls["span"]]), controls["dims"], caption, image])
    box.add_class("vae-traversal-explorer")
    return Explorer(box, first, "Latent traversal explorer: run the notebook to choose "
                                "dimensions and move the span.", controls, {"traversal": image})
