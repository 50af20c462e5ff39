"""Official network pickles (StyleGAN2-ADA, StyleGAN3, INR-GAN, ALIS) read as data, never as code."""
