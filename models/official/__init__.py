"""Official checkpoints (StyleGAN2-ADA, StyleGAN3, ALIS pickles) read as data, never as code."""
