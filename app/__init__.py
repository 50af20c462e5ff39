"""infiniscape: a desktop studio for GANs that paint infinite images."""

__version__ = "0.1.0"
