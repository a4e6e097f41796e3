"""Helpers shared by the tests of the interactive part."""

import io

import numpy as np
from PIL import Image


def png_pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))
