"""The network-pickle loader reads official snapshots as data and never runs code from the file."""

import hashlib
import io
import pickle
import zipfile

import numpy as np
import pytest
import torch
from fixtures.pickle_writer import (
    Global,
    Reduce,
    dumps,
    easydict,
    module_state,
    omegaconf_dict,
    persistent,
    tf_network,
)
from PIL import Image

from infiniscape.models.errors import ModelLoadError
from infiniscape.models.pickles.safe_pickle import PersistentObject, load_network_pickle


def _write(tmp_path, data: bytes, name="net.pkl"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _marker_src(marker) -> str:
    """Module source that leaves a file behind if anyone executes it."""
    return f"open({str(marker)!r}, 'w').write('executed')\nclass Generator: pass\n"


def _sg3_like_snapshot(marker):
    """A small StyleGAN3-shaped snapshot: G -> synthesis -> (input, L0), mapping; plus D and kwargs."""
    torch.manual_seed(0)
    src = _marker_src(marker)
    tensors = {
        "synthesis.input.weight": torch.nn.Parameter(torch.randn(4, 3), requires_grad=False),
        "synthesis.input.freqs": torch.randn(4, 2),
        "synthesis.input.transform": torch.eye(3),
        "synthesis.L0_36_4.weight": torch.nn.Parameter(torch.randn(4, 4, 3, 3), requires_grad=False),
        "synthesis.L0_36_4.magnitude_ema": torch.ones([]),
        "synthesis.L0_36_4.down_filter": torch.randn(12).half(),
        "mapping.fc0.weight": torch.nn.Parameter(torch.randn(5, 8).t(), requires_grad=False),  # strided view
        "mapping.w_avg": torch.arange(8.0)[::2],  # view with a storage offset pattern
    }
    t = tensors
    layer = persistent("SynthesisLayer", module_state(
        params={"weight": t["synthesis.L0_36_4.weight"]},
        buffers={"magnitude_ema": t["synthesis.L0_36_4.magnitude_ema"], "up_filter": None,
                 "down_filter": t["synthesis.L0_36_4.down_filter"]},
        init_kwargs=easydict(in_channels=4, out_channels=4, in_size=36),
        in_size=np.array([36, 36]), padding=[9, 8, 9, 8], in_cutoff=np.float64(2.0)), src)
    inp = persistent("SynthesisInput", module_state(
        params={"weight": t["synthesis.input.weight"]},
        buffers={"freqs": t["synthesis.input.freqs"], "transform": t["synthesis.input.transform"]}), src)
    synthesis = persistent("SynthesisNetwork", module_state(
        modules={"input": inp, "L0_36_4": layer}, layer_names=["L0_36_4"],
        init_kwargs=easydict(w_dim=8, img_resolution=32, img_channels=3)), src)
    fc0 = persistent("FullyConnectedLayer", module_state(
        params={"weight": t["mapping.fc0.weight"], "bias": None}), src)
    mapping = persistent("MappingNetwork", module_state(
        modules={"fc0": fc0}, buffers={"w_avg": t["mapping.w_avg"]}), src)
    G = persistent("Generator", module_state(
        modules={"synthesis": synthesis, "mapping": mapping}, init_args=(),
        init_kwargs=easydict(z_dim=8, c_dim=0, w_dim=8, img_resolution=32, img_channels=3,
                             mapping_kwargs=easydict(num_layers=2))), src)
    D = persistent("Discriminator", module_state(params={"w": torch.nn.Parameter(torch.randn(2))}), src)
    snapshot = dict(G=G, D=D, G_ema=G, augment_pipe=None, training_set_kwargs=easydict(path="data.zip"))
    return snapshot, tensors


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_snapshot_tensors_round_trip_exactly(tmp_path, protocol):
    marker = tmp_path / "ran"
    snapshot, tensors = _sg3_like_snapshot(marker)
    nets = load_network_pickle(_write(tmp_path, dumps(snapshot, protocol)))

    G = nets["G_ema"]
    assert isinstance(G, PersistentObject) and G.class_name == "Generator"
    assert set(G.params) == set(tensors)  # None buffers (identity filters) are not tensors
    for name, expected in tensors.items():
        got = G.params[name]
        assert type(got) is torch.Tensor and got.dtype == expected.dtype and torch.equal(got, expected), name
    assert G.buffer_names == {"synthesis.input.freqs", "synthesis.input.transform", "mapping.w_avg",
                              "synthesis.L0_36_4.magnitude_ema", "synthesis.L0_36_4.down_filter"}
    assert G.init_kwargs == dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=32, img_channels=3,
                                 mapping_kwargs=dict(num_layers=2))
    assert type(G.init_kwargs) is dict and type(G.init_kwargs["mapping_kwargs"]) is dict
    layer = G.submodules["synthesis"].submodules["L0_36_4"]
    assert layer.init_kwargs == dict(in_channels=4, out_channels=4, in_size=36)
    assert layer.attributes["padding"] == [9, 8, 9, 8] and layer.attributes["in_cutoff"] == 2.0
    assert np.array_equal(layer.attributes["in_size"], [36, 36])
    assert G.submodules["synthesis"].attributes["layer_names"] == ["L0_36_4"]
    assert "_forward_hooks" not in layer.attributes and "training" not in layer.attributes
    assert nets["G"] is G  # one object pickled twice stays one object
    assert nets["D"].class_name == "Discriminator" and set(nets["D"].params) == {"w"}
    assert nets["augment_pipe"] is None and nets["training_set_kwargs"] == {"path": "data.zip"}
    assert not marker.exists()


def test_embedded_module_source_is_hashed_never_run(tmp_path):
    marker = tmp_path / "ran"
    snapshot, _ = _sg3_like_snapshot(marker)
    nets = load_network_pickle(_write(tmp_path, dumps(snapshot)))
    assert not marker.exists()
    expected = hashlib.sha256(_marker_src(marker).encode("utf-8")).hexdigest()
    assert nets["G_ema"].module_hash == expected
    assert nets["G_ema"].submodules["synthesis"].module_hash == expected
    assert "module_src" not in repr(nets["G_ema"])


HOSTILE = {
    "os.system": lambda m: ("touch " + str(m),),
    "posix.system": lambda m: ("touch " + str(m),),
    "builtins.eval": lambda m: (f"open({str(m)!r}, 'w')",),
    "builtins.exec": lambda m: (f"open({str(m)!r}, 'w')",),
    "subprocess.Popen": lambda m: (["touch", str(m)],),
    "torch.load": lambda m: (str(m),),
    "numpy.testing._private.utils.runstring": lambda m: (f"open({str(m)!r}, 'w')", {}),
    "collections.Counter": lambda m: ("abc",),
}


@pytest.mark.parametrize("qualified", sorted(HOSTILE))
def test_globals_off_the_allow_list_are_refused_before_anything_runs(tmp_path, qualified):
    marker = tmp_path / "ran"
    payload = Reduce(Global(qualified), HOSTILE[qualified](marker))
    for protocol in (2, 4):
        path = _write(tmp_path, dumps({"G": payload}, protocol))
        with pytest.raises(ModelLoadError) as err:
            load_network_pickle(path)
        message = str(err.value)
        assert f"refused global '{qualified}' in {path}" in message and "\n" not in message
        assert not marker.exists()


def test_code_is_named_as_code_in_the_message(tmp_path):
    path = _write(tmp_path, dumps(Reduce(Global("os.system"), ("true",))))
    with pytest.raises(ModelLoadError, match="the file tries to run code; only network pickles are loaded"):
        load_network_pickle(path)


def test_hostile_global_hidden_inside_a_network_is_refused(tmp_path):
    marker = tmp_path / "ran"
    hidden = persistent("Generator", module_state(
        params={"w": torch.nn.Parameter(torch.ones(2))}, secret=Reduce(Global("builtins.exec"), ("1",))))
    with pytest.raises(ModelLoadError, match="refused global 'builtins.exec'"):
        load_network_pickle(_write(tmp_path, dumps({"G_ema": hidden})))
    assert not marker.exists()


def test_hostile_tensor_storage_is_refused(tmp_path):
    # A storage blob is itself a pickle; it must go through torch's weights-only loader, not pickle.load.
    marker = tmp_path / "ran"
    blob = dumps(Reduce(Global("os.system"), ("touch " + str(marker),)), protocol=2)
    storage = Reduce(Global("torch.storage._load_from_bytes"), (blob,))
    with pytest.raises(ModelLoadError, match="tensor storage"):
        load_network_pickle(_write(tmp_path, dumps({"G": storage})))
    assert not marker.exists()


def test_omegaconf_configs_become_plain_dicts_without_omegaconf(tmp_path):
    cfg = {"a": 1, "b": {"c": [1, 2.5, "x"], "d": None, "e": True}, "f": "${a}", "g": "???", "h": []}
    G = persistent("SynthesisLayer", module_state(cfg=omegaconf_dict(cfg),
                                                  init_kwargs=easydict(cfg=omegaconf_dict(cfg))))
    nets = load_network_pickle(_write(tmp_path, dumps({"G_ema": G, "cfg": omegaconf_dict(cfg)}, 2)))
    assert nets["cfg"] == cfg and nets["G_ema"].attributes["cfg"] == cfg
    assert nets["G_ema"].init_kwargs == {"cfg": cfg}


def test_tensorflow_stylegan2_pickles_parse_into_numpy_dicts(tmp_path):
    rng = np.random.default_rng(0)
    dense = {"Dense0/weight": rng.standard_normal((8, 8), dtype=np.float32),
             "Dense0/bias": np.zeros(8, np.float32)}
    conv = {"4x4/Const/const": rng.standard_normal((1, 8, 4, 4), dtype=np.float32)}

    def G(name):
        mapping = tf_network("G_mapping", dense, static_kwargs=easydict(dlatent_size=8))
        synthesis = tf_network("G_synthesis", conv)
        components = easydict(mapping=mapping, synthesis=synthesis)
        return tf_network(name, {"lod": np.float32(0)}, components=components,
                          static_kwargs=dict(resolution=4, num_channels=3))

    D = tf_network("D", {"Output/weight": np.ones((8, 1), np.float32)})
    nets = load_network_pickle(_write(tmp_path, dumps((G("G"), D, G("G")), protocol=3)))
    assert set(nets) == {"G", "D", "G_ema"}
    gs = nets["G_ema"]
    assert gs["kind"] == "tensorflow" and gs["name"] == "G" and gs["static_kwargs"]["resolution"] == 4
    assert set(gs["variables"]) == {"lod", "mapping/Dense0/weight", "mapping/Dense0/bias",
                                    "synthesis/4x4/Const/const"}
    assert np.array_equal(gs["variables"]["synthesis/4x4/Const/const"], conv["4x4/Const/const"])
    assert gs["components"]["mapping"]["static_kwargs"] == {"dlatent_size": 8}
    assert gs["module_hash"] == hashlib.sha256(b"# tf build src\n").hexdigest()


def _zip_bytes():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "not a network")
    return buf.getvalue()


def _png_bytes():
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, format="PNG")
    return buf.getvalue()


def _torch_save_bytes(**kw):
    buf = io.BytesIO()
    torch.save({"weight": torch.ones(3)}, buf, **kw)
    return buf.getvalue()


FOREIGN = {
    "empty": (lambda: b"", "is empty"),
    "truncated": (lambda: dumps(_sg3_like_snapshot("/nonexistent")[0])[:3000], "truncated"),
    "zip": (_zip_bytes, "zip archive"),
    "png": (_png_bytes, "PNG image"),
    "torch_save": (_torch_save_bytes, "zip archive"),
    "legacy_torch_save": (lambda: _torch_save_bytes(_use_new_zipfile_serialization=False), "torch.save"),
    "text": (lambda: b"hello, I am a text file\n", "not a readable network pickle"),
    "plain_dict": (lambda: pickle.dumps({"lr": 0.01}), "holds no networks"),
    "plain_list": (lambda: pickle.dumps([1, 2]), "holds a list"),
}


@pytest.mark.parametrize("kind", sorted(FOREIGN))
def test_foreign_and_broken_files_give_one_line_errors(tmp_path, kind):
    make, expected = FOREIGN[kind]
    with pytest.raises(ModelLoadError) as err:
        load_network_pickle(_write(tmp_path, make(), f"{kind}.pkl"))
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_a_snapshot_cut_anywhere_reads_as_truncated(tmp_path):
    data = dumps(_sg3_like_snapshot(tmp_path / "ran")[0])
    for cut in (1, 2, 50, 700, len(data) // 2, len(data) - 1):
        with pytest.raises(ModelLoadError, match="is truncated"):
            load_network_pickle(_write(tmp_path, data[:cut]))


def test_missing_file_is_a_model_load_error(tmp_path):
    with pytest.raises(ModelLoadError, match="cannot read network pickle"):
        load_network_pickle(tmp_path / "nope.pkl")
