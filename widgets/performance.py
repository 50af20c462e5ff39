"""Performance panel: frame times, tile latency, scheduler queue and cache, FPS limit, vsync."""

from __future__ import annotations

import numpy as np
from imgui_bundle import imgui, implot


def _mb(n) -> str:
    return f"{(n or 0) / 2**20:.0f} MB"


class PerformanceWidget:
    def __init__(self, studio):
        self.studio = studio
        self.fps_limit = 60
        self.vsync = False
        self.defaults = dict(fps_limit=60, vsync=False)

    def __call__(self, show: bool = True) -> None:
        s = self.studio
        if show:
            frames = np.asarray(s.frame_ms, np.float32)
            lat = np.asarray(s.latency_ms, np.float32)
            em = imgui.get_font_size()
            if frames.size:
                p50, p95 = np.percentile(frames, [50, 95])
                starts = np.asarray(s.frame_starts)
                fps = int(np.sum(starts > starts[-1] - 1.0)) if starts.size else 0
                imgui.text(f"frame work {p50:.1f} ms p50, {p95:.1f} ms p95, {fps} FPS")
            if implot.begin_plot("Frame work and tile latency##frames", imgui.ImVec2(-1, em * 11)):
                implot.setup_axes("frame (last 240)", "time (ms)", implot.AxisFlags_.auto_fit,
                                  implot.AxisFlags_.auto_fit)
                if frames.size:
                    implot.plot_line("frame", frames)
                if lat.size:
                    implot.plot_line("tile p50 / 10", lat / 10)
                implot.end_plot()
            st = s.scheduler_stats
            if st:
                p50 = st.get("latency_p50_ms")
                p95 = st.get("latency_p95_ms")
                lat_txt = f"{p50:.0f} / {p95:.0f} ms" if p50 is not None else "-"
                imgui.text(f"tiles: queue {st.get('queue', 0)}, rendered {st.get('rendered', 0)}, "
                           f"{st.get('tiles_per_s', 0):.1f}/s")
                imgui.text(f"tile latency p50/p95: {lat_txt}")
                imgui.text(f"cache {_mb(st.get('bytes'))} / {_mb(st.get('budget'))}, "
                           f"{st.get('count', 0)} tiles, hits {st.get('hits', 0)}")
                imgui.text(f"textures {s.pool.live} / {s.pool.max_textures}   device {st.get('device', '?')}")
                if st.get("errors"):
                    imgui.text_colored(imgui.ImVec4(1, 0.4, 0.4, 1), f"{st['errors']} tile errors")
                    imgui.text_wrapped(str(st.get("last_error")))
            imgui.set_next_item_width(em * 8)
            _, self.fps_limit = imgui.slider_int("FPS limit", self.fps_limit, 5, 240)
            imgui.same_line()
            _, self.vsync = imgui.checkbox("Vsync", self.vsync)
            imgui.same_line()
            with_reset = (self.fps_limit, self.vsync) != (self.defaults["fps_limit"], self.defaults["vsync"])
            imgui.begin_disabled(not with_reset)
            if imgui.button("Reset##perf"):
                self.fps_limit, self.vsync = self.defaults["fps_limit"], self.defaults["vsync"]
            imgui.end_disabled()
        s.intents.fps_limit = self.fps_limit
        s.intents.vsync = self.vsync
