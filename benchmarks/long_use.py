"""Long use: scroll the studio's canvas through N fresh tiles and watch memory and GL textures.

    xvfb-run -a -s "-screen 0 1280x800x24" python benchmarks/long_use.py --model tiny --tiles 10000

With a display the real window and texture atlas run (live textures counted with glIsTexture over
every id ever handed out); without one the canvas runs headless (``use_gl=False``). Prints a table:
resident memory must stay under the tile cache budget plus a fixed overhead, textures bounded.
"""

from __future__ import annotations

import os
import time

from bench_args import parser


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def gl_live_textures(max_id: int) -> int:
    """Texture names alive in the context, whoever created them (font atlas included)."""
    from OpenGL import GL

    return sum(bool(GL.glIsTexture(i)) for i in range(1, max_id + 1))


def main() -> None:
    args = parser(__doc__, tiles=(10_000, "fresh tiles to scroll through"),
                  cache_mb=(64, "tile cache budget"),
                  every=(1000, "print a row every this many tiles")).parse_args()

    from imgui_bundle import imgui

    from infiniscape.commands.view import reserve_ui_core
    from infiniscape.studio import Studio

    reserve_ui_core()
    window = None
    if os.environ.get("DISPLAY"):
        from infiniscape.window import StudioWindow

        window = StudioWindow(1280, 800)
    else:
        from imgui_bundle import implot

        imgui.create_context()
        implot.create_context()
        io = imgui.get_io()
        io.display_size = imgui.ImVec2(1280, 800)
        io.backend_flags |= imgui.BackendFlags_.renderer_has_textures
    studio = Studio(model=args.model, device="cpu", cache_bytes=args.cache_mb << 20,
                    use_gl=window is not None)

    def frame() -> None:
        if window is not None:
            window.draw(studio)
            window.present()
            return
        imgui.get_io().delta_time = 1 / 60
        imgui.new_frame()
        studio.frame(1280, 800)
        imgui.render()
        for tex in imgui.get_platform_io().textures:
            tex.set_tex_id(1)
            tex.status = imgui.ImTextureStatus.ok

    def settle() -> None:
        frame()
        while not (studio.world is not None and studio.canvas.complete()):
            frame()
            time.sleep(0.002)

    settle()
    base = rss_mb()
    seen: set = set()
    t0 = time.perf_counter()
    print(f"{'tiles':>7} {'rendered':>8} {'rss MB':>7} {'growth':>7} {'cache MB':>8} {'slots':>6} "
          f"{'pool tex':>8} {'GL live':>7} {'blocks':>6} {'s':>6}")
    next_row, peak = 0, base
    while len(seen) < args.tiles:
        studio.canvas.view.x += studio.canvas.tile_size  # one fresh column of tiles per step
        settle()
        seen.update(studio.canvas.visible)
        peak = max(peak, rss_mb())
        if len(seen) >= next_row or len(seen) >= args.tiles:
            next_row += args.every
            pool = studio.pool
            live = gl_live_textures(pool.gl.max_id + 8) if window is not None else pool.gl_textures
            st = studio.scheduler.stats()
            print(f"{len(seen):7d} {st['rendered']:8d} {rss_mb():7.0f} {rss_mb() - base:+7.0f} "
                  f"{st['bytes'] / 2**20:8.1f} {pool.live:6d} {pool.gl_textures:8d} {live:7d} "
                  f"{len(studio.canvas.mosaic.blocks):6d} {time.perf_counter() - t0:6.0f}", flush=True)
    budget = args.cache_mb + studio.canvas.mosaic.max_blocks * studio.canvas.mosaic.side ** 2 * 3 / 2**20
    print(f"peak growth {peak - base:.0f} MB over the start (tile cache budget {args.cache_mb} MB, "
          f"mosaic at most {budget - args.cache_mb:.0f} MB)")
    studio.close()
    if window is not None:
        window.close()


if __name__ == "__main__":
    main()
