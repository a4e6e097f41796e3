"""The conditional VAE's explorer: pick the digit, move z, and watch the style follow.

:func:`conditional_frames` is the pure function (a code and a label in, pictures out);
:func:`conditional_explorer` wires buttons and sliders to it and carries a static
picture of its first state for pages that cannot run widgets.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as w
import numpy as np
import torch

from ..conditional import CVAE, generate
from ..data import IMAGE_SIDE
from .raster import digit_pixels, side_by_side, to_png
from .widgets import Explorer

MAX_SLIDERS = 8  # one slider per latent dimension; more would not fit a notebook


@dataclass(frozen=True)
class ConditionalFrames:
    """What the explorer shows for one code: the chosen digit and the same z under every label."""

    label: int
    chosen: np.ndarray  # (28, 28) probabilities of the chosen label's image
    row: np.ndarray  # (n_classes, 28, 28): the same z decoded under each label in turn


def conditional_frames(model: CVAE, z, label: int) -> ConditionalFrames:
    """Decode one code ``z`` (latent_dim,) under ``label`` and under every label.

    Args:
        model: a trained :class:`~vae_course.conditional.CVAE` (on any device).
        z: the code, a list, array or tensor of shape (latent_dim,).
        label (int): the class to show large, 0 .. n_classes - 1.

    Returns:
        :class:`ConditionalFrames` of probabilities in [0, 1].
    """
    n_classes, latent_dim = model.config.n_classes, model.config.latent_dim
    if not 0 <= int(label) < n_classes:
        raise ValueError(f"label must be between 0 and {n_classes - 1}, got {label}")
    z = torch.as_tensor(np.asarray(z, dtype=np.float32)).reshape(1, -1)  # (1, latent_dim)
    if z.shape[1] != latent_dim:
        raise ValueError(f"z must have {latent_dim} values (the model's latent_dim), got {z.shape[1]}")
    row = generate(model, z.expand(n_classes, -1), torch.arange(n_classes))  # (n_classes, 784)
    row = row.reshape(n_classes, IMAGE_SIDE, IMAGE_SIDE).numpy()
    return ConditionalFrames(int(label), row[int(label)], row)


def _row_picture(frames: ConditionalFrames, scale: int = 2) -> np.ndarray:
    """The ten digits side by side, the chosen one framed in red: (H, W, 3) uint8."""
    tiles = []
    for k, p in enumerate(frames.row):
        tile = np.repeat(digit_pixels(p, scale)[..., None], 3, axis=2)
        tile = np.pad(tile, ((2, 2), (2, 2), (0, 0)), constant_values=255)
        if k == frames.label:
            red = np.array([220, 0, 0], np.uint8)
            tile[:2], tile[-2:], tile[:, :2], tile[:, -2:] = red, red, red, red
        tiles.append(tile)
    return side_by_side(*tiles, gap=2)


def _pictures(frames: ConditionalFrames) -> tuple[np.ndarray, np.ndarray]:
    return digit_pixels(frames.chosen, scale=6), _row_picture(frames)


def conditional_explorer(model: CVAE, *, label: int = 3, z=None, limit: float = 3.0,
                         ) -> Explorer:
    """Buttons choose the digit, sliders choose z; the image follows, with the same z
    under every label below it (one style, every digit).

    Args:
        model: a trained :class:`~vae_course.conditional.CVAE`.
        label (int): the digit chosen at first.
        z: the code at first (latent_dim,), default the prior's mean, 0.
        limit (float): the sliders run from -limit to +limit (3 covers 99.7% of the prior).

    Returns:
        :class:`~vae_course.interactive.widgets.Explorer` with ``controls`` ``"digit"``,
        ``"z1"``, ``"z2"``, ... and ``images`` ``"digit"`` (the chosen one, large) and
        ``"all digits"`` (the row of every label).
    """
    latent_dim, n_classes = model.config.latent_dim, model.config.n_classes
    if latent_dim > MAX_SLIDERS:
        raise ValueError(f"the explorer has one slider per latent dimension, at most "
                         f"{MAX_SLIDERS}; this model has {latent_dim}")
    z0 = np.zeros(latent_dim, np.float32) if z is None else np.asarray(z, np.float32)
    first = conditional_frames(model, z0, label)
    digit = w.ToggleButtons(options=[(str(k), k) for k in range(n_classes)], value=first.label,
                            description="digit", style={"button_width": "32px"})
    sliders = [w.FloatSlider(value=round(float(v), 2), min=-limit, max=limit, step=0.05,
                             description=f"z{j + 1}", readout_format=".2f")
               for j, v in enumerate(z0)]
    big, row = (w.Image(value=to_png(p), format="png") for p in _pictures(first))
    caption = w.HTML()

    def update(_=None):
        code = [s.value for s in sliders]
        frames = conditional_frames(model, code, digit.value)
        big.value, row.value = (to_png(p) for p in _pictures(frames))
        caption.value = (f"label {frames.label}, z = ({', '.join(f'{v:.2f}' for v in code)}); "
                         f"below: the same z under every label")

    update()
    for control in (digit, *sliders):
        control.observe(update, names="value")
    box = w.VBox([digit, w.HBox([big, w.VBox(sliders)], layout=w.Layout(align_items="center")),
                  caption, row])
    box.add_class("vae-conditional-explorer")
    picture = side_by_side(*_pictures(first), gap=16)
    controls = {"digit": digit, **{s.description: s for s in sliders}}
    return Explorer(box, to_png(picture),
                    "Conditional explorer: run the notebook to pick the digit and move z.",
                    controls, {"digit": big, "all digits": row})
