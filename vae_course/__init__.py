"""vae-course: the helper package of a hands-on course on variational autoencoders."""

__version__ = "0.1.0"
