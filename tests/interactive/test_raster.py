"""Fast pictures for the widgets (vae_course.interactive.raster)."""

import numpy as np

from vae_course.interactive import raster

from .helpers import png_pixels


def test_digit_pixels_and_png_round_trip():
    p = np.zeros((28, 28), np.float32)
    p[3, 4] = 1.0
    pixels = raster.digit_pixels(p, scale=3)
    assert pixels.shape == (84, 84) and pixels.dtype == np.uint8
    assert pixels[9:12, 12:15].max() == 0 and pixels[0, 0] == 255  # ink is dark on white
    np.testing.assert_array_equal(png_pixels(raster.to_png(pixels)), pixels)


def test_side_by_side_pads_on_white():
    out = raster.side_by_side(np.zeros((4, 3), np.uint8), np.zeros((2, 5, 3), np.uint8), gap=2)
    assert out.shape == (4, 10, 3)
    assert out[:, 3:5].min() == 255 and out[2:, 5:].min() == 255 and out[:2, 5:].max() == 0


def test_marked_axes_paints_a_ring_around_the_point():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 2), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set(xlim=(0, 10), ylim=(0, 10))
    marked = raster.MarkedAxes(fig, radius=5)
    out = marked.mark(5.0, 2.5)  # pixel (100, 150) from the top left
    red = np.argwhere((out == (220, 0, 0)).all(axis=2))
    assert len(red) > 10
    np.testing.assert_allclose(red.mean(0), [150, 100], atol=1.0)
    assert np.array_equal(marked.mark(50.0, 50.0), marked.pixels)  # off the axes: nothing
