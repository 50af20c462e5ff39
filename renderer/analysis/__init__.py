"""Inspection of generated images: spectra, equivariance, seams, layers (no GUI, no GL)."""
