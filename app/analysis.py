"""The analyses the panels ask for (Spectrum, Equivariance, Layers, Seams), carried out on background
jobs through the renderer: a panel writes a request into ``Intents.analyse`` (and ``stop_analysis``)
and draws ``Analysis.result(kind)``. The maths lives in renderer.analysis; tiles come from the world
and, where the canvas has them already, from its tile cache."""

from __future__ import annotations

import math
import time

from .analysis_requests import (
    METRIC_LABELS,
    AverageShown,
    AverageSpectra,
    EquivarianceMetrics,
    EquivarianceView,
    ExportSpectra,
    Layers,
    LayersShown,
    Result,
    SeamScore,
    Spectrum,
)

MAX_LIVE_SIDE = 512  # world px per side the live FFT reads: a bigger view is cropped around its centre
LIVE_EVERY_S = 0.25  # the live FFT renders its region at most 4 times a second


class _CacheStore:
    """The canvas's tile cache as a read-only TileStore for analyses of ``world`` (empty once the
    scheduler renders another world)."""

    def __init__(self, scheduler, world):
        self.scheduler, self.world = scheduler, world

    def get(self, tile):
        if getattr(self.scheduler, "world", None) is not self.world:
            return None
        return self.scheduler.tile(tile)

    def put(self, tile, image) -> None:
        pass


def live_rect(studio, of_selection: bool) -> tuple[int, int, int, int] | None:
    """The selection, or the visible region, cropped around its centre to MAX_LIVE_SIDE px."""
    sel = studio.tools.selection
    if of_selection and sel:
        x, y, w, h = sel
    else:
        x0, y0, x1, y1 = studio.canvas.view.world_rect(studio.canvas.size)
        x, y, w, h = math.floor(x0), math.floor(y0), math.ceil(x1 - x0), math.ceil(y1 - y0)
    if w < 8 or h < 8:
        return None
    cw, ch = min(w, MAX_LIVE_SIDE), min(h, MAX_LIVE_SIDE)
    return (int(x + (w - cw) // 2), int(y + (h - ch) // 2), int(cw), int(ch))


def target_tile(studio, follow: bool):
    """The world tile under the cursor (``follow``), else the one at the view centre."""
    from infiniscape.models.contract import Tile
    from infiniscape.renderer.tiles import tile_of

    c = studio.canvas
    if follow and c.hover_world is not None:
        wx, wy = c.hover_world
    else:
        x0, y0, x1, y1 = c.view.world_rect(c.size)
        wx, wy = (x0 + x1) / 2, (y0 + y1) / 2
    t = studio.world.tile_size
    return Tile(tile_of(wx, t), tile_of(wy, t))


class Analysis:
    """Runs the panels' analysis requests, one job per kind at a time, and keeps the last result of each."""

    def __init__(self, studio):
        self.studio = studio
        self.results: dict[str, Result] = {}
        self._jobs: dict = {}  # kind -> its latest app.jobs.Job
        self._served: dict[str, object] = {}  # kind -> what its latest live job was started from
        self._last_live = 0.0
        self._pixels = None  # the live FFT's region (uint8), reused while only the settings change
        self._captured = None  # (tile, layers) of the latest layer capture
        self._test_gen = None
        self._world_gen = None  # (model, what the Equivariance panel moves for it)

    # -- what the panels read -------------------------------------------------------------------
    def result(self, kind: str) -> Result | None:
        return self.results.get(kind)

    def job(self, kind: str):
        return self._jobs.get(kind)

    def busy(self, kind: str) -> bool:
        job = self._jobs.get(kind)
        return job is not None and not job.done.is_set()

    def generator(self, test_signal: bool = False):
        """What the Equivariance panel transforms: the test signal, the model (StyleGAN3), a native
        model's moved world, or None (no input transform)."""
        if test_signal:
            if self._test_gen is None:
                from infiniscape.renderer.analysis.synthetic import SinusoidGenerator

                self._test_gen = SinusoidGenerator(128, pinned=0.05)
            return self._test_gen
        world = self.studio.world
        model = world.model if world is not None else None
        if self._world_gen is None or self._world_gen[0] is not model:
            from infiniscape.renderer.analysis.equivariance import view_generator

            self._world_gen = (model, view_generator(model))
        return self._world_gen[1]

    # -- carrying out ---------------------------------------------------------------------------
    def carry_out(self, intents) -> None:
        """This frame's requests; a failure to start one becomes a red status line."""
        if intents.stop_analysis and self.busy(intents.stop_analysis):
            self._jobs[intents.stop_analysis].cancelled.set()
        for request in intents.analyse:
            self.submit(request)

    def submit(self, request) -> None:
        """Start (or skip, when served or busy) one request."""
        handler = getattr(self, "_" + request.kind.replace(" ", "_"))
        self.studio._guard(lambda: handler(request), request.kind)

    def _start(self, request, name: str, work, total: int = 0, then=None):
        """Run ``work(job)`` as the request's job; its value becomes the kind's result (``then`` may
        turn it into what is kept first)."""
        def done(value):
            self.results[request.kind] = Result(request, then(value) if then else value)

        job = self.studio.jobs.start(name, work, on_done=done, total=total)
        self._jobs[request.kind] = job
        return job

    def _spectrum(self, r: Spectrum) -> None:
        from infiniscape.renderer.analysis.pixels import region_pixels
        from infiniscape.renderer.analysis.spectrum import region_spectrum

        s = self.studio
        rect = live_rect(s, r.of_selection) if s.world is not None else None
        if rect is None or self.busy(r.kind):
            return
        source, settings = (rect, s.world, s.world.revision), (r.beta, r.db_range, r.luminance)
        shown = self.results.get(r.kind)

        def keep(value):
            self._pixels, strip = value
            return strip

        if source != self._served.get(r.kind) and time.perf_counter() - self._last_live > LIVE_EVERY_S:
            self._served[r.kind], self._last_live = source, time.perf_counter()
            world, store = s.world, _CacheStore(s.scheduler, s.world)

            def work(job):
                pixels = region_pixels(world, rect, store)
                return pixels, region_spectrum(pixels, *settings)

            self._start(r, "live FFT", work, then=keep)
        elif self._pixels is not None and shown is not None and \
                settings != (shown.request.beta, shown.request.db_range, shown.request.luminance):
            pixels = self._pixels
            self._start(r, "live FFT", lambda job: (pixels, region_spectrum(pixels, *settings)), then=keep)

    def _average_spectrum(self, r: AverageSpectra) -> None:
        from infiniscape.renderer.analysis import average as avg

        s = self.studio
        if s.world is None or self.busy(r.kind):
            return
        world, n, data, beta = s.world, int(r.tiles), r.data.strip(), float(r.beta)
        store, names = _CacheStore(s.scheduler, world), {"model": s.model_name, "data": data}

        def work(job):
            images = list(_counting(avg.world_tiles(world, avg.sample_tiles(n, seed=0), store), job))
            real = None
            if data:
                from infiniscape.train.dataset import open_dataset

                real = list(avg.dataset_images(open_dataset(data, world.tile_size), n))
            spectra = avg.model_and_data_spectra(images, real, beta, 4)
            return AverageShown(spectra, names, avg.heatmap_row(spectra), avg.plot_curves(spectra))

        def ready(shown: AverageShown) -> AverageShown:
            s.report(f"average spectrum of {next(iter(shown.spectra.values())).count} tiles ready")
            return shown

        self._start(r, f"average spectrum of {n} tiles", work, total=n, then=ready)

    def _export_spectrum(self, r: ExportSpectra) -> None:
        from infiniscape.renderer.analysis.average import heatmap_png, save_npz

        shown = self.results.get(AverageSpectra.kind)
        if shown is None or self.busy(r.kind):
            return
        spectra, names = shown.value.spectra, shown.value.names

        def work(job):
            path = save_npz(r.path, spectra)
            return path, heatmap_png(path.with_suffix(".png"), spectra, names=names)

        def saved(paths):
            self.studio.report(f"saved {paths[0]} and {paths[1]}")

        self._start(r, r.kind, work, then=saved)

    def _equivariance_view(self, r: EquivarianceView) -> None:
        from infiniscape.renderer.analysis.equivariance import difference_strip

        gen = self.generator(r.test_signal)
        if gen is None or self.busy(r.kind) or (id(gen), r) == self._served.get(r.kind):
            return
        self._served[r.kind] = (id(gen), r)
        self._start(r, r.kind, lambda job: difference_strip(gen, r.seed, r.tx, r.ty, r.angle, r.whole_pixels,
                                                            r.untransform))

    def _equivariance_metrics(self, r: EquivarianceMetrics) -> None:
        from infiniscape.renderer.analysis.equivariance import equivariance_metrics

        gen = self.generator(r.test_signal)
        if gen is None or not r.metrics or self.busy(r.kind):
            return
        self.results.pop(r.kind, None)

        def work(job):  # Stop ends it early with what was pooled so far
            return equivariance_metrics(gen, list(r.metrics), r.samples,
                                        progress=lambda d, t: setattr(job, "count", d),
                                        should_stop=job.cancelled.is_set)

        def ready(psnrs: dict) -> dict:
            text = ", ".join(f"{METRIC_LABELS[k]} {v:.2f} dB" for k, v in psnrs.items())
            self.studio.report(f"equivariance: {text}")
            return psnrs

        self._start(r, f"equivariance {', '.join(r.metrics)}", work, total=r.samples, then=ready)

    def _layers(self, r: Layers) -> None:
        """Capture the target tile's layers when it (or the world) changed; the shown layer's picture is
        made here, on the UI thread, as the settings change (cheap beside a capture)."""
        from infiniscape.renderer.analysis.layers import capture_layers

        s = self.studio
        if s.world is None:
            return
        if not self.busy(r.kind):
            tile = target_tile(s, r.follow)
            source = (tile, s.world, s.world.revision)
            if source != self._served.get(r.kind):
                self._served[r.kind] = source
                world = s.world

                def captured(layers):
                    self._captured = (tile, layers)
                    return self._layer_result(r, tile, layers)

                self._start(r, f"layers of tile {tile.ix},{tile.iy}", lambda job: capture_layers(world, tile),
                            then=captured)
        shown = self.results.get(r.kind)
        if self._captured is not None and (shown is None or shown.request != r):
            self.results[r.kind] = Result(r, self._layer_result(r, *self._captured))

    @staticmethod
    def _layer_result(r: Layers, tile, layers) -> LayersShown:
        from infiniscape.renderer.analysis.layers import layer_view

        layer = next((x for x in layers if x.name == r.selected), layers[-1] if layers else None)
        if layer is None:
            return LayersShown(tile, layers, None, None, {})
        image, stats = layer_view(layer, r.channel, r.rgb, r.normalize, r.gain_db, r.fft, r.fft_all, r.beta,
                                  r.db_range)
        return LayersShown(tile, layers, layer, image, stats)

    def _seams(self, r: SeamScore) -> None:
        import numpy as np

        from infiniscape.renderer.analysis.seams import pool, seam_interval, world_seam_samples

        s = self.studio
        if s.world is None or self.busy(r.kind):
            return
        world, name = s.world, s.model_name

        def work(job):  # Stop cancels the job: its next advance() ends it
            samples = world_seam_samples(world, regions=r.regions, tiles_per_side=r.tiles_per_side,
                                         seed=r.seed, progress=job.advance)
            e = pool(samples)
            return dict(score=e.score, x=e.score_x, y=e.score_y, interval=seam_interval(samples),
                        per_region=np.array([x.score for x in samples], np.float64), model=name,
                        regions=len(samples))

        self._start(r, "seam score", work, total=r.regions)


def _counting(it, job):
    for x in it:
        job.advance(1)
        yield x
