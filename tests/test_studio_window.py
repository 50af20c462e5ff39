"""The studio in a real window (Xvfb + Mesa): scripted screenshot, and the no-display message."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from studio_fixtures import no_gui

PANE_W = 27 * 15  # the panel column at the default 15 px font (studio.py: 27 em)


def run_view(args, env, timeout=120):
    return subprocess.run([sys.executable, "-m", "infiniscape", "view", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_screenshot_shows_generated_tiles_and_panels(display, tmp_path):
    shot = tmp_path / "s.png"
    env = {**os.environ, "DISPLAY": display}
    r = run_view(["--model", "tiny", "--screenshot", str(shot), "--quit-after-frames", "120"], env)
    assert r.returncode == 0, r.stderr[-2000:]
    img = np.asarray(Image.open(shot).convert("RGB")).astype(np.int16)
    assert img.shape == (800, 1280, 3)
    canvas = img[8:-64, PANE_W + 8:-8]  # away from the status line, the readout and the panel's edge
    assert canvas.std() > 20, "canvas is uniform: no tiles drawn"
    # No hole, no garbage: every 16x16 block shows exactly the world's pixels. The view is centred on
    # world (0, 0) at 1x; the half-pixel of the centre is found by matching a patch.
    ref = world_around_canvas(canvas, top_left=(PANE_W + 8 - (PANE_W + (1280 - PANE_W) / 2), 8 - 775 / 2))
    diff = np.abs(ref - canvas).max(axis=-1)
    h, w = (canvas.shape[0] // 16) * 16, (canvas.shape[1] // 16) * 16
    blocks = diff[:h, :w].reshape(h // 16, 16, w // 16, 16).mean(axis=(1, 3))
    assert (blocks <= 2).all(), f"{(blocks > 2).sum()} 16x16 blocks differ from the world's pixels"
    pane = img[:, : PANE_W - 20]
    assert pane.std() > 10 and (pane.max(axis=-1) > 200).mean() > 0.01, "panel text missing"
    if os.environ.get("INFINISCAPE_KEEP_SCREENSHOTS"):
        shutil.copy(shot, os.environ["INFINISCAPE_KEEP_SCREENSHOTS"])


def world_around_canvas(canvas: np.ndarray, top_left: tuple[float, float], slack: int = 8) -> np.ndarray:
    """The tiny world's pixels under a screenshot's canvas area whose top-left is near world top_left."""
    from infiniscape.models.registry import load_model
    from infiniscape.renderer.world import World, to_uint8

    h, w = canvas.shape[:2]
    x0, y0 = int(np.floor(top_left[0])) - slack, int(np.floor(top_left[1])) - slack
    world = to_uint8(World(load_model("tiny")).render(x0, y0, w + 2 * slack, h + 2 * slack)).astype(np.int16)
    cy, cx = h // 2, w // 2
    patch = canvas[cy - 32:cy + 32, cx - 32:cx + 32]
    def mismatch(dx: int, dy: int) -> float:
        return float(np.abs(world[cy + dy - 32:cy + dy + 32, cx + dx - 32:cx + dx + 32] - patch).mean())

    _, dx, dy = min((mismatch(dx, dy), dx, dy) for dy in range(2 * slack + 1) for dx in range(2 * slack + 1))
    return world[dy:dy + h, dx:dx + w]


def test_without_a_display_one_line_and_exit_2():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    r = run_view([], env, timeout=60)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "display" in lines[0] and "infiniscape render" in lines[0], r.stderr
    assert "Assertion" not in r.stderr


def test_unreachable_display_is_one_line_not_an_abort():
    if not shutil.which("Xvfb") and not os.environ.get("DISPLAY"):
        no_gui("glfw needs X libraries to reach the point of failure")
    env = {**os.environ, "DISPLAY": ":987"}  # no server there
    env.pop("WAYLAND_DISPLAY", None)
    r = run_view(["--model", "tiny"], env, timeout=60)
    assert r.returncode == 2, r.stderr[-2000:]
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "infiniscape render" in lines[0], r.stderr


DRIVER = r'''
import json, sys, time
from imgui_bundle import imgui
from infiniscape.commands.view import reserve_ui_core
from infiniscape.studio import Studio
from infiniscape.window import StudioWindow, save_screenshot

out = sys.argv[1]
reserve_ui_core()
win, s = StudioWindow(1280, 800), None
s = Studio(model="tiny", device="cpu")
io = imgui.get_io()

def step():
    win.draw(s); win.present(); time.sleep(0.005)

def settle():
    end = time.time() + 60
    while not (s.world is not None and s.canvas.complete()) and time.time() < end:
        step()
    for _ in range(3):
        step()

def shot(name):
    fw, fh = win.draw(s)
    save_screenshot(f"{out}/{name}.png", fw, fh)
    win.present()

def drag(a, b, steps=5):
    io.add_mouse_pos_event(*a); step()
    io.add_mouse_button_event(0, True); step()
    for i in range(1, steps + 1):
        io.add_mouse_pos_event(a[0] + (b[0] - a[0]) * i / steps, a[1] + (b[1] - a[1]) * i / steps); step()
    io.add_mouse_button_event(0, False); step()

def keys(*ks):
    for k in ks:
        io.add_key_event(k, True); step()
    for k in reversed(ks):
        io.add_key_event(k, False); step()

settle()
v = s.canvas.view
x0 = (v.x, v.y)
drag((900, 400), (800, 350))  # pan
panned = (v.x - x0[0], v.y - x0[1])
settle()
s.tools.tool = "select"
drag((700, 250), (1000, 550))
io.add_mouse_pos_event(1200, 700)
settle(); shot("before")
keys(imgui.Key.r)
settle(); shot("edited")
keys(imgui.Key.mod_ctrl, imgui.Key.z)
settle(); shot("undone")
print(json.dumps({"panned": panned, "history": s.world.history, "position": s.world.history_position}))
s.close(); win.close()
'''


def test_pan_select_resample_undo_in_a_real_window(display, tmp_path):
    env = {**os.environ, "DISPLAY": display}
    r = subprocess.run([sys.executable, "-c", DRIVER, str(tmp_path)], env=env, capture_output=True,
                       text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-2000:]
    import json

    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["panned"] == pytest.approx([100.0, 50.0])
    assert res["history"][0].startswith("resample local") and res["position"] == 0
    shots = {n: np.asarray(Image.open(tmp_path / f"{n}.png").convert("RGB")).astype(np.int16)
             for n in ("before", "edited", "undone")}
    inside = (slice(275, 530), slice(720, 980))  # the selection (700..1000, 250..550), inset
    outside = (slice(600, 760), slice(440, 640))
    changed = np.abs(shots["edited"][inside] - shots["before"][inside]).mean()
    assert changed > 10, f"the resampled region did not change (mean |diff| {changed:.1f})"
    assert np.abs(shots["edited"][outside] - shots["before"][outside]).mean() < 1
    canvas = (slice(8, 700), slice(PANE_W + 8, 1272))  # the panels' text changes, the canvas must not
    restored = np.abs(shots["undone"][canvas] - shots["before"][canvas]).mean()
    assert restored < 0.5, f"undo did not restore the pixels (mean |diff| {restored:.2f})"
    if os.environ.get("INFINISCAPE_KEEP_SCREENSHOTS"):
        for n in shots:
            shutil.copy(tmp_path / f"{n}.png", f"/tmp/studio_{n}.png")
