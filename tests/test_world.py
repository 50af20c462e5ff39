import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from infiniscape.models.errors import UserError
from infiniscape.renderer.export import PngStreamWriter, export_region
from infiniscape.renderer.levels import level_rect, zoom_level, zoom_text
from infiniscape.renderer.scene import Scene
from infiniscape.renderer.world import World, to_uint8


def test_any_rectangle_is_assembled_from_world_tiles(world, tiny):
    # Unaligned, negative origin: equals the one-pass padding-free render of the aligned block.
    img = world.render(-70, -45, 150, 100)
    t = tiny.tile_size
    block = tiny.render_windows([(-2 * t, -t)], 4 * t, 2 * t, world.latents())[0].permute(1, 2, 0).numpy()
    ref = block[-45 + t:-45 + t + 100, -70 + 2 * t:-70 + 2 * t + 150]
    assert img.shape == (100, 150, 3) and img.dtype == np.float32
    assert np.abs(img - ref).max() <= 1e-5


def test_differently_offset_requests_agree_exactly(world):
    whole = world.render(-100, -30, 200, 130)
    parts = [world.render(-100 + dx, -30 + dy, w, h)
             for dx, dy, w, h in [(0, 0, 37, 130), (37, 0, 163, 55), (37, 55, 163, 75)]]
    stitched = np.empty_like(whole)
    stitched[:, :37], stitched[:55, 37:], stitched[55:, 37:] = parts
    assert np.abs(whole - stitched).max() <= 1e-5
    assert np.array_equal(to_uint8(whole), to_uint8(stitched))


def test_pngs_of_overlapping_regions_are_byte_identical_in_the_overlap(world, tmp_path):
    export_region(world, -90, -20, 180, 100, tmp_path / "a.png")
    export_region(world, -13, 7, 150, 120, tmp_path / "b.png")
    a = np.asarray(Image.open(tmp_path / "a.png"))
    b = np.asarray(Image.open(tmp_path / "b.png"))
    assert a.shape == (100, 180, 3) and b.shape == (120, 150, 3)
    overlap_a = a[7 + 20:, -13 + 90:]  # world x in [-13, 90), y in [7, 80)
    overlap_b = b[:80 - 7, :90 + 13]
    assert np.array_equal(overlap_a, overlap_b)


def test_tile_batch_size_does_not_change_a_byte(tiny, tmp_path):
    for batch in (1, 8):
        world = World(tiny, Scene(seed=9), tile_batch=batch)
        export_region(world, -64, -64, 320, 192, tmp_path / f"{batch}.png")
    assert (tmp_path / "1.png").read_bytes() == (tmp_path / "8.png").read_bytes()


def test_two_processes_write_identical_bytes(tmp_path):
    outs = []
    for i in range(2):
        out = tmp_path / f"p{i}.png"
        subprocess.run([sys.executable, "-m", "infiniscape", "render", "--model", "tiny", "--seed", "5",
                        "--x", "-37", "--y", "11", "--width", "150", "--height", "90", "--out", str(out),
                        "--tile-batch", str(1 + 7 * i), "--quiet"], check=True)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_npy_output_holds_the_float_values(world, tmp_path):
    export_region(world, 5, -9, 70, 40, tmp_path / "r.npy")
    arr = np.load(tmp_path / "r.npy")
    assert arr.dtype == np.float32 and arr.shape == (40, 70, 3)
    assert np.array_equal(arr, world.render(5, -9, 70, 40))


def test_streaming_png_writer_decodes_to_the_same_pixels():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    buf = io.BytesIO()
    png = PngStreamWriter(buf, 53, 37)
    png.write_rows(img[:20])
    png.write_rows(img[20:])
    png.close()
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(buf.getvalue()))), img)


def test_export_at_zoom_one_half_is_the_worlds_level_one(world, tmp_path):
    # (x, y) is the world corner, snapped down to even; width and height are output pixels
    export_region(world, -91, 13, 150, 70, tmp_path / "h.png", zoom="1/2")
    export_region(world, -91, 13, 150, 70, tmp_path / "h.npy", zoom=0.5)
    level1 = world.render(-46, 6, 150, 70, level=1)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "h.png")), to_uint8(level1))
    assert np.array_equal(np.load(tmp_path / "h.npy"), level1)


@pytest.mark.parametrize("zoom, level", [("1", 0), (1, 0), ("1/2", 1), (0.25, 2), ("0.125", 3), (" 1/8 ", 3),
                                         ("2/16", 3), ("1/65536", 16)])
def test_zoom_values_name_a_level(zoom, level):
    assert zoom_level(zoom) == level


@pytest.mark.parametrize("zoom", ["0.3", "2", 2.0, "0", "-1/2", "abc", "", "1/0", "nan", "1/131072", 1 / 3])
def test_other_zooms_are_refused_saying_which_work(zoom):
    with pytest.raises(UserError, match=r"use 1, 1/2, 1/4, 1/8"):
        zoom_level(zoom)


def test_a_level_rectangle_covers_the_world_rectangle():
    assert [zoom_text(k) for k in range(4)] == ["1", "1/2", "1/4", "1/8"]
    assert level_rect(-91, 13, 150, 70, 1) == (-46, 6, 76, 36)  # world -92 .. 60 x 12 .. 84
    assert level_rect(8, 16, 16, 8, 3) == (1, 2, 2, 1)
    assert level_rect(0, 0, 1, 1, 3) == (0, 0, 1, 1)
