"""The real studio (panels, canvas, tools) driven by simulated mouse and keys in a headless imgui
context: no window, no GL (textures are counted, not uploaded)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

imgui_bundle = pytest.importorskip("imgui_bundle")
from imgui_bundle import imgui  # noqa: E402
from imgui_driver import frame, frames_until  # noqa: E402

from infiniscape.studio import Studio  # noqa: E402
from infiniscape.view_transform import WHEEL_STEP  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # as the studio does: the UI thread keeps a core


def canvas_point(studio: Studio, fx: float = 0.5, fy: float = 0.5) -> tuple[float, float]:
    o, size = studio.canvas.origin, studio.canvas.size
    return (round(o[0] + size[0] * fx), round(o[1] + size[1] * fy))  # imgui keeps whole-pixel mice


def drag(studio: Studio, a, b, steps: int = 4, button: int = 0) -> None:
    io = imgui.get_io()
    io.add_mouse_pos_event(*a)
    frame(studio)
    io.add_mouse_button_event(button, True)
    frame(studio)
    for i in range(1, steps + 1):
        io.add_mouse_pos_event(a[0] + (b[0] - a[0]) * i / steps, a[1] + (b[1] - a[1]) * i / steps)
        frame(studio)
    io.add_mouse_button_event(button, False)
    frame(studio)


def click(studio: Studio, p, button: int = 0) -> None:
    drag(studio, p, p, steps=0, button=button)


def key_chord(studio: Studio, *keys) -> None:
    io = imgui.get_io()
    for k in keys:
        io.add_key_event(k, True)
        frame(studio)
    for k in reversed(keys):
        io.add_key_event(k, False)
        frame(studio)


def test_drag_pans_by_the_exact_amount(studio):
    v = studio.canvas.view
    v.zoom = 2.0
    x0, y0 = v.x, v.y
    drag(studio, canvas_point(studio), (canvas_point(studio)[0] + 50, canvas_point(studio)[1] + 20))
    assert (v.x, v.y) == pytest.approx((x0 - 25.0, y0 - 10.0), abs=1e-9)


def test_wheel_zooms_about_the_cursor(studio):
    io, v = imgui.get_io(), studio.canvas.view
    p = canvas_point(studio, 0.3, 0.7)
    io.add_mouse_pos_event(*p)
    frame(studio)
    before = v.to_world(*p, studio.canvas.origin)
    io.add_mouse_wheel_event(0.0, 1.0)
    frame(studio)
    assert v.zoom == pytest.approx(WHEEL_STEP)
    assert v.to_world(*p, studio.canvas.origin) == pytest.approx(before, abs=1e-9)
    for _ in range(40):  # the zoom stays within 1/8x .. 8x
        io.add_mouse_wheel_event(0.0, -1.0)
        frame(studio)
    assert v.zoom == pytest.approx(1 / 8)


def test_visible_tiles_arrive_as_textures(studio):
    frames_until(studio, studio.canvas.complete)
    assert studio.pool.live >= len(studio.canvas.visible) > 0
    assert studio.pool.live <= studio.pool.max_textures


def test_the_studio_wants_full_rate_frames_only_while_something_moves(studio):
    frames_until(studio, studio.canvas.complete)
    frame(studio)
    assert not studio.animating()  # a still, complete view: the window may sleep
    io, a = imgui.get_io(), canvas_point(studio)
    io.add_mouse_pos_event(*a)
    frame(studio)
    io.add_mouse_pos_event(a[0] + 5, a[1])
    frame(studio)
    assert studio.animating()  # the mouse moved (hover feedback)
    io.add_mouse_button_event(0, True)
    frame(studio)
    io.add_mouse_pos_event(a[0] + 30, a[1])
    frame(studio)
    assert studio.animating() and studio.canvas.moved  # dragging the view
    io.add_mouse_button_event(0, False)
    frame(studio)
    frame(studio)
    assert not studio.animating() and not studio.canvas.moved


def test_a_finished_tile_or_job_wakes_a_sleeping_window(studio):
    woke = threading.Event()
    studio.wake = woke.set  # the window's glfw.post_empty_event, called from other threads
    frames_until(studio, studio.canvas.complete)
    woke.clear()
    studio.canvas.view.pan_screen(-4000, 0)  # fresh world: tiles must be rendered
    frame(studio)
    assert woke.wait(30), "no wake when tiles were finished"
    woke.clear()
    studio.open_model("tiny")  # a background job
    assert woke.wait(30), "no wake when the job ended"


def test_select_resample_and_ctrl_z_undo(studio):
    world, canvas = studio.world, studio.canvas
    frames_until(studio, canvas.complete)
    studio.tools.tool = "select"
    a, b = canvas_point(studio, 0.4, 0.4), canvas_point(studio, 0.6, 0.6)
    drag(studio, a, b)
    wa = canvas.view.to_world(*a, canvas.origin)
    wb = canvas.view.to_world(*b, canvas.origin)
    sel = studio.tools.selection
    assert sel == (int(np.floor(wa[0])), int(np.floor(wa[1])),
                   int(np.floor(wb[0]) - np.floor(wa[0])), int(np.floor(wb[1]) - np.floor(wa[1])))
    tile = canvas.view.to_world(*canvas_point(studio), canvas.origin)
    from infiniscape.models.contract import Tile

    centre = Tile(int(tile[0] // canvas.tile_size), int(tile[1] // canvas.tile_size))
    original = studio.scheduler.tile(centre).copy()

    key_chord(studio, imgui.Key.r)  # the Edit panel's shortcut for its Resample button
    assert world.history_position == 1 and world.history[0].startswith("resample local")
    frames_until(studio, lambda: studio.scheduler.tile(centre) is not None and canvas.complete())
    assert not np.array_equal(studio.scheduler.tile(centre), original)

    key_chord(studio, imgui.Key.mod_ctrl, imgui.Key.z)
    assert world.history_position == 0
    frames_until(studio, lambda: studio.scheduler.tile(centre) is not None and canvas.complete())
    assert np.array_equal(studio.scheduler.tile(centre), original)

    key_chord(studio, imgui.Key.mod_ctrl, imgui.Key.y)
    assert world.history_position == 1


def test_anchor_tool_adds_moves_and_deletes(studio):
    world, canvas = studio.world, studio.canvas
    studio.tools.tool = "anchor"
    p = canvas_point(studio, 0.5, 0.5)
    click(studio, p)
    assert len(world.anchors) == 1
    at = world.anchors[0].at
    assert at == pytest.approx(canvas.view.to_world(*p, canvas.origin), abs=0.5)
    q = (p[0] + 40, p[1] + 10)
    drag(studio, p, q)
    assert len(world.anchors) == 1
    assert world.anchors[0].at == pytest.approx(canvas.view.to_world(*q, canvas.origin), abs=0.5)
    click(studio, q, button=1)
    assert len(world.anchors) == 0
    assert world.history_position == 3


def test_texture_pool_stays_under_its_cap_while_scrolling(make_studio):
    s = make_studio(cache_mb=8, max_textures=64, first_frame=False)
    for _ in range(30):
        s.canvas.view.x += 300
        frame(s)
        assert s.pool.live <= 64
        time.sleep(0.02)


def test_errors_show_in_the_window_and_the_studio_stays_usable(studio):
    studio.open_model("no/such/model.pt")
    frames_until(studio, lambda: studio.loading is None or studio.status_error, timeout=10)
    frames_until(studio, lambda: studio.status_error, timeout=10)
    assert "does not exist" in studio.status
    assert studio.world is not None and studio.model_name == "tiny"  # the old world keeps working
    studio.intents.export = None
    drag(studio, canvas_point(studio), canvas_point(studio, 0.6, 0.5))  # still pans


def test_a_failed_open_ends_loading_keeps_the_world_and_says_why_in_the_model_panel(studio):
    world = studio.world
    studio.open_model("no/such/junk.pt")
    frames_until(studio, lambda: studio.loading is None, timeout=10)
    assert studio.world is world and studio.model_name == "tiny"  # the canvas keeps drawing it
    assert studio.load_error.startswith("could not open no/such/junk.pt: ") and "\n" not in studio.load_error
    frame(studio)  # the panel draws the error with its Open / Recent
    studio.open_model("tiny")
    frames_until(studio, lambda: studio.loading is None and studio.world is not world, timeout=30)
    assert studio.load_error is None  # a good open clears it


@pytest.mark.parametrize("what", ["model", "scene"])
def test_a_studio_started_on_a_bad_model_or_scene_shows_the_fallback_model(gui, tmp_path, what):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    kw = {"model": str(tmp_path / "junk.pt")} if what == "model" else {"scene": str(bad)}
    s = Studio(**kw, use_gl=False, cache_bytes=16 << 20, fallback_model="tiny")
    try:
        frames_until(s, lambda: s.world is not None and s.loading is None, timeout=30)
        assert s.model_name == "tiny" and s.status_error
        assert s.load_error.startswith(f"could not open {kw.get('model') or kw['scene']}: ")
        s.canvas.view.zoom = 4.0  # few tiles: the canvas fills, never a grey canvas forever
        frames_until(s, s.canvas.complete, timeout=60)
    finally:
        s.close()


@pytest.mark.parametrize("zoom", [1 / 8, 0.5, 1.0, 2.0, 3.3, 8.0])
@pytest.mark.parametrize("steps", [1, 14])
def test_a_drag_keeps_the_grabbed_world_point_under_the_cursor_at_every_zoom(studio, zoom, steps):
    v, io = studio.canvas.view, imgui.get_io()
    v.zoom = zoom
    a = canvas_point(studio, 0.9, 0.8)
    b = (a[0] - 700, a[1] - 300)  # ends over the panel pane: the drag still owns the mouse
    grabbed = v.to_world(*a, studio.canvas.origin)
    drag(studio, a, b, steps=steps)
    assert v.to_world(*b, studio.canvas.origin) == pytest.approx(grabbed, abs=1e-9)
    # moves merged into one frame, and a move in the press's own frame, are not lost either
    io.add_mouse_pos_event(*a)
    frame(studio)
    grabbed = v.to_world(*a, studio.canvas.origin)
    io.add_mouse_button_event(1, True)
    io.add_mouse_pos_event(a[0] - 10, a[1])
    frame(studio)
    for x in (a[0] - 200, a[0] - 450, a[0] - 700):
        io.add_mouse_pos_event(x, a[1] + 5)
    frame(studio)
    frame(studio)
    io.add_mouse_button_event(1, False)
    frame(studio)
    assert v.to_world(a[0] - 700, a[1] + 5, studio.canvas.origin) == pytest.approx(grabbed, abs=1e-9)


def test_a_zoom_asked_for_while_the_model_loads_is_not_undone_by_the_opening_view(gui, monkeypatch):
    import infiniscape.models.registry as registry

    release, load = threading.Event(), registry.load_model
    monkeypatch.setattr(registry, "load_model", lambda *a, **k: (release.wait(30), load(*a, **k))[1])
    s = Studio(model="tiny", use_gl=False, cache_bytes=16 << 20)
    try:
        frame(s)
        io = imgui.get_io()
        io.add_mouse_pos_event(*canvas_point(s))
        frame(s)
        io.add_mouse_wheel_event(0.0, 4.0)  # four notches: 2x, while nothing is loaded yet
        frame(s)
        release.set()
        frames_until(s, lambda: s.world is not None)
        frame(s)
        assert s.canvas.view.zoom == pytest.approx(2.0)
    finally:
        s.close()


def test_after_a_far_go_to_the_overview_still_frames_the_view_and_the_readout_has_no_minus_zero(studio):
    nav, v = studio.widgets["Navigation"], studio.canvas.view
    for _ in range(3):
        frame(studio)
    v.center_on(-0.3, 0.2, studio.canvas.size)
    frame(studio)
    assert nav.readout().startswith("centre (0, 0)")
    v.center_on(2_000_000.0, -700_000.0, studio.canvas.size)  # what Go to does
    for _ in range(3):
        frame(studio)
    x0, y0, x1, y1 = nav.map_rect
    vx0, vy0, vx1, vy1 = v.world_rect(studio.canvas.size)
    assert x0 <= vx0 and vx1 <= x1 and y0 <= vy0 and vy1 <= y1
    _, _, w, h = nav.map_box
    box = ((vx1 - vx0) / (x1 - x0) * w, (vy1 - vy0) / (y1 - y0) * h)
    assert min(box) >= 12  # map px: a box you can see and drag, not a dot
    assert nav.readout().startswith("centre (2000000, -700000)")


def test_fusion_reach_changes_for_every_anchor_and_is_outlined_while_placing(studio):
    from dataclasses import replace

    from infiniscape.renderer.edits import AddAnchor

    f = studio.world.scene.fusion
    assert f.shape == "band" and f.blur_width == f.radius  # tiny: a horizon, blur in proportion
    studio.world.apply(AddAnchor((40, 10), seed=3))
    studio.change_fusion(replace(f, shape="disk", radius=96))
    assert studio.world.scene.fusion == replace(f, shape="disk", radius=96)
    assert [a.at for a in studio.world.anchors] == [(40, 10)]  # same anchors under the new reach
    tools, io = studio.tools, imgui.get_io()
    tools.tool = "anchor"
    io.add_mouse_pos_event(*canvas_point(studio, 0.3, 0.4))
    frame(studio)
    frame(studio)
    outlines = tools.reach_outlines(studio.canvas)
    assert ((40, 10), False, studio.world.scene.fusion) in outlines  # every anchor's reach, tool on
    assert outlines[-1][1] and outlines[-1][0] == pytest.approx(studio.canvas.hover_world)  # the cursor
    # one anchor's own reach: an undoable edit, outlined with its own radius
    from infiniscape.renderer.edits import SetAnchorReach

    studio.intents.apply = None
    studio.world.apply(SetAnchorReach(0, radius=40, blur=8))
    frame(studio)
    (at, live, own), *_ = tools.reach_outlines(studio.canvas)
    assert at == (40, 10) and (own.radius, own.blur_width) == (40, 8)
    studio.world.undo()
    frame(studio)
    assert tools.reach_outlines(studio.canvas)[0][2].radius == 96
