"""GAN losses: non-saturating logistic loss and the R1 gradient penalty on real frames; the hinge loss
of Projected GAN."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating: -log sigmoid(D(G(z)))."""
    return F.softplus(-fake_logits).mean()


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Logistic: -log sigmoid(D(x)) - log(1 - sigmoid(D(G(z))))."""
    return F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()


def r1_penalty(real_logits: torch.Tensor, reals: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of |grad_x D(x)|^2; ``reals`` must require grad (double backward)."""
    (grad,) = torch.autograd.grad(real_logits.sum(), reals, create_graph=True)
    return grad.float().square().sum(dim=(1, 2, 3)).mean()


def hinge_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge (Projected GAN): mean(relu(1 - D(x))) + mean(relu(1 + D(G(z)))), over all patch logits."""
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def hinge_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge generator loss: -mean(D(G(z)))."""
    return -fake_logits.mean()


def lod_consistency(full: torch.Tensor, coarse: list[torch.Tensor]) -> torch.Tensor:
    """Levels of detail: mean |level k - box-downsampled frame| over k = 1.. (coarse[k - 1] is level
    k, [N, 3, R / 2^k, R / 2^k]). The full frame is the target, not pulled toward its levels."""
    target = full.detach().float()
    loss = torch.zeros((), device=full.device)
    for k, level in enumerate(coarse, start=1):
        loss = loss + (level.float() - F.avg_pool2d(target, 2**k)).abs().mean()
    return loss
