"""Placing a real image in the studio: the inversion (renderer.inversion) of an image file into a world
rectangle as a background job, with what the Place image panel shows meanwhile (losses, a preview of
the fitting window); the fitted edit lands as one history entry."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PREVIEW_EVERY = 10  # steps between previews of the fitting window


@dataclass
class Placing:
    """An image being fitted into the world."""

    name: str
    rect: tuple[int, int, int, int]
    steps: int
    losses: list[float] = field(default_factory=list)
    preview: np.ndarray | None = None  # float32 [H, W, 3] in [-1, 1]: the fitting window as it is now
    job: object | None = None


def start_placing(studio, path: str, rect: tuple[int, int, int, int], steps: int) -> Placing:
    """Start fitting ``path`` into ``rect`` of the studio's world; the result is applied through the
    studio's intents (one history entry) unless the world changed meanwhile."""
    from infiniscape.models.errors import UserError
    from infiniscape.renderer.inversion import FitOptions, fit_images, load_target

    from .commands.invert import perceptual_features

    world = studio.world
    if not world.model.capabilities.inversion:
        raise UserError(f"{world.model.family} models cannot be inverted: open a native or InfinityGAN model")
    if studio.placing is not None:
        raise UserError("an image is being placed already: wait for it, or cancel it")
    x, y, w, h = rect
    target = load_target(path, x, y, (w, h))
    placing = Placing(target.name, rect, steps)

    def work(job):
        perceptual, _ = perceptual_features()

        def progress(report):
            job.advance()
            placing.losses.append(report.loss)
            if report.preview is not None:
                placing.preview = report.preview

        return fit_images(world, [target], FitOptions(steps=steps), perceptual, progress,
                          cancelled=job.cancelled.is_set, preview_every=PREVIEW_EVERY)

    def done(result):
        studio.placing = None
        if studio.world is not world:
            studio.report(f"{target.name} was fitted to the previous model: not placed", error=True)
            return
        studio.intents.apply = result.action  # carried out this frame: one history entry

    placing.job = studio.jobs.start(f"place {target.name}", work, on_done=done, total=steps)
    studio.report(f"placing {target.name} at ({x}, {y}) {w}x{h} ...")
    return placing
