import numpy as np
import pytest
from PIL import Image

from infiniscape.cli import main
from infiniscape.renderer.scene import Scene
from infiniscape.renderer.video import frame_origins, write_video
from infiniscape.renderer.world import World, to_uint8


def test_frames_follow_the_path_centre():
    origins = frame_origins(((0, 0), (100, -50)), (40, 20), 3)
    assert origins == [(-20, -10), (30, -35), (80, -60)]


def test_png_frames_are_the_world_at_each_step(tiny, tmp_path):
    world = World(tiny, Scene(seed=2))
    write_video(world, ((0, 0), (150, 40)), (96, 54), 4, tmp_path / "frames")
    files = sorted((tmp_path / "frames").glob("frame_*.png"))
    assert len(files) == 4
    for f, (ox, oy) in zip(files, frame_origins(((0, 0), (150, 40)), (96, 54), 4), strict=True):
        assert np.array_equal(np.asarray(Image.open(f)), to_uint8(world.render(ox, oy, 96, 54)))


def test_mp4_needs_the_video_extra_or_writes_a_file(tmp_path, capsys):
    code = main(["video", "--model", "tiny", "--path", "0,0:200,0", "--size", "64x48", "--frames", "5",
                 "--out", str(tmp_path / "v.mp4"), "--quiet"])
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        assert code == 2 and "video extra" in capsys.readouterr().err
        return
    assert code == 0 and (tmp_path / "v.mp4").stat().st_size > 1000


@pytest.mark.parametrize("argv", [["--path", "0,0-5,5"], ["--size", "0x10"], ["--out", "x.gif"]])
def test_bad_video_arguments_are_one_line_errors(tmp_path, capsys, argv):
    base = {"--path": "0,0:10,10", "--size": "32x32", "--out": str(tmp_path / "f")}
    base.update({argv[0]: argv[1] if argv[0] != "--out" else str(tmp_path / argv[1])})
    args = ["video", "--model", "tiny", "--frames", "2", "--quiet"] + [v for kv in base.items() for v in kv]
    with pytest.raises(SystemExit) as e:
        raise SystemExit(main(args))
    assert e.value.code == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1
