"""Fast pictures for the widgets: uint8 arrays in, PNG bytes out.

Matplotlib draws what changes rarely (a latent scatter) once; what changes at every
slider move (a decoded digit, a marker on the scatter) is painted into arrays here,
which keeps one update within a few milliseconds.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image as PILImage

def to_png(pixels: np.ndarray) -> bytes:
    """PNG bytes of a uint8 image (H, W) or (H, W, 3); fast compression for live updates."""
    buf = io.BytesIO()
    PILImage.fromarray(np.ascontiguousarray(pixels)).save(buf, format="png", compress_level=1)
    return buf.getvalue()


def digit_pixels(p: np.ndarray, scale: int = 6) -> np.ndarray:
    """Probabilities (28, 28) -> uint8 (28*scale, 28*scale): dark ink on white, as in the plots."""
    ink = np.clip(np.asarray(p, dtype=np.float32), 0, 1)
    img = (255 * (1 - ink)).astype(np.uint8)
    return img.repeat(scale, 0).repeat(scale, 1)


def figure_pixels(fig: Figure) -> np.ndarray:
    """Render a matplotlib Figure to uint8 RGB (H, W, 3)."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def side_by_side(*pictures: np.ndarray, gap: int = 8) -> np.ndarray:
    """Put uint8 pictures (gray or RGB) in one row on white, top-aligned: (H, W, 3)."""
    rgb = [p if p.ndim == 3 else np.repeat(p[..., None], 3, axis=2) for p in pictures]
    height = max(p.shape[0] for p in rgb)
    width = sum(p.shape[1] for p in rgb) + gap * (len(rgb) - 1)
    out = np.full((height, width, 3), 255, np.uint8)
    x = 0
    for p in rgb:
        out[: p.shape[0], x: x + p.shape[1]] = p
        x += p.shape[1] + gap
    return out


class MarkedAxes:
    """A rendered Axes (e.g. a latent scatter) on which one point can be marked quickly.

    The figure is drawn once; :meth:`mark` then paints a ring into a copy of its
    pixels, which is much faster than drawing the figure again at every slider move.
    """

    def __init__(self, fig: Figure, radius: int = 6):
        self.pixels = figure_pixels(fig)  # (H, W, 3)
        self._to_display = fig.axes[0].transData.transform  # data -> pixels from bottom left
        self.radius = radius

    def mark(self, a: float, b: float, colour=(220, 0, 0)) -> np.ndarray:
        """The picture with a ring at data point (a, b); a point off the axes is not drawn."""
        out = self.pixels.copy()
        h, w, _ = out.shape
        px, py = self._to_display((a, b))
        cx, cy = int(round(px)), int(round(h - py))
        r = self.radius
        yy, xx = np.ogrid[-r - 1: r + 2, -r - 1: r + 2]
        ring = np.abs(np.hypot(xx, yy) - r) < 1.2  # a ring two pixels thick
        ys, xs = np.nonzero(ring)
        ys, xs = ys + cy - r - 1, xs + cx - r - 1
        inside = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
        out[ys[inside], xs[inside]] = colour
        return out
