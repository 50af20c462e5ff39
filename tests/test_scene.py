import numpy as np
import pytest

from infiniscape.cli import main
from infiniscape.models.errors import UserError
from infiniscape.renderer.edits import AddAnchor, Resample
from infiniscape.renderer.scene import Scene, load_scene
from infiniscape.renderer.world import World

GOOD = """\
version: 1
model: tiny
seed: 7
truncation: 0.8
edits:
  - resample: {field: local, rect: [0, 0, 40, 30], seed: 123, stats_rect: null, feather: 8}
  - resample: {field: noise, rect: [-20, 5, 10, 10], seed: 5, stats_rect: [100, 100, 32, 32]}
styles:
  - {at: [30, 20], seed: 5}
  - {at: [-90, 40], pick: [200, 10]}
"""


def test_save_load_render_gives_identical_bytes(tiny, tmp_path):
    world = World(tiny, Scene(model="tiny", seed=11, truncation=0.7))
    world.apply(Resample("local", (-30, -30, 60, 50), seed=2, stats_rect=(100, 0, 40, 40)))
    world.apply(AddAnchor((20, 20), seed=9))
    world.apply(AddAnchor((-50, 0), pick=(300, 30)))
    path = world.save(tmp_path / "s.yaml")
    again = World.open(path)
    assert again.scene.to_dict() == world.scene.to_dict()
    area = (-100, -80, 200, 160)
    assert np.array_equal(again.render(*area), world.render(*area))
    assert again.history == world.history  # the loaded edits can be undone


def test_the_documented_format_loads(tmp_path):
    (tmp_path / "s.yaml").write_text(GOOD)
    scene = load_scene(tmp_path / "s.yaml")
    assert scene.seed == 7 and scene.truncation == 0.8 and len(scene.edits) == 2 and len(scene.styles) == 2
    assert scene.edits[1].stats_rect == (100, 100, 32, 32) and scene.styles[1].pick == (200.0, 10.0)


@pytest.mark.parametrize("bad, named", [
    (GOOD.replace("seed: 7", "seed: seven"), "seed"),
    (GOOD.replace("field: local", "field: colour"), "edits[0].resample.field"),
    (GOOD.replace("rect: [0, 0, 40, 30]", "rect: [0, 0, 40]"), "edits[0].resample.rect"),
    (GOOD.replace("truncation: 0.8", "truncation: 0.8\nbrightness: 2"), "brightness"),
    (GOOD.replace("{at: [30, 20], seed: 5}", "{at: [30, 20], seed: 5, pick: [1, 2]}"), "styles[0]"),
    (GOOD.replace("version: 1", "version: 9"), "version"),
    (GOOD[:GOOD.index("  - resample: {field: noise") + 30], "not valid YAML"),
    ("- just\n- a list\n", "scene"),
])
def test_malformed_scene_files_name_the_problem(tmp_path, bad, named):
    (tmp_path / "s.yaml").write_text(bad)
    with pytest.raises(UserError) as e:
        load_scene(tmp_path / "s.yaml")
    assert named in str(e.value) and "\n" not in str(e.value)


def test_a_scene_whose_model_is_missing_says_so(tmp_path, capsys):
    (tmp_path / "s.yaml").write_text(GOOD.replace("model: tiny", f"model: {tmp_path / 'gone.pt'}"))
    code = main(["render", "--scene", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "o.png")])
    err = capsys.readouterr().err
    assert code == 2 and "gone.pt" in err and len(err.strip().splitlines()) == 1


def test_render_honours_the_scene(tmp_path, tiny):
    (tmp_path / "s.yaml").write_text(GOOD)
    out = tmp_path / "o.npy"
    assert main(["render", "--scene", str(tmp_path / "s.yaml"), "--x", "-50", "--y", "-40", "--width", "120",
                 "--height", "90", "--out", str(out), "--quiet"]) == 0
    expected = World(tiny, load_scene(tmp_path / "s.yaml")).render(-50, -40, 120, 90)
    assert np.array_equal(np.load(out), expected)
