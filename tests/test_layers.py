"""Layer capture of the native generator and the visualizer's ways of showing a layer."""

from __future__ import annotations

import numpy as np

from infiniscape.models.contract import Tile
from infiniscape.renderer.analysis.layers import (
    capture_layers,
    layer_image,
    layer_spectrum,
    layer_stats,
    select_channels,
)
from infiniscape.renderer.world import World


def test_every_synthesis_layer_is_captured_with_its_shape(tiny):
    world = World(tiny)
    layers = capture_layers(world, Tile(1, -2))
    names = [layer.name for layer in layers]
    convs = [n for n in names if n.startswith("synthesis.convs.")]
    rgbs = [n for n in names if n.startswith("synthesis.torgbs.")]
    assert len(convs) == len(tiny.generator.synthesis.convs) and len(rgbs) == len(tiny.cfg.stages)
    assert names[-1] == "output" and layers[-1].shape == (3, 64, 64)
    np.testing.assert_array_equal(layers[-1].data, world.render(64, -128, 64, 64).transpose(2, 0, 1))
    first = layers[names.index("synthesis.convs.0")]
    assert first.shape[0] == tiny.cfg.stages[0].channels
    assert first.shape[1] < layers[-2].shape[1]  # coarse to fine
    assert "64x64  3 ch" in layers[-1].describe()


def test_capture_leaves_no_hooks_behind(tiny):
    capture_layers(World(tiny), Tile(0, 0))
    assert all(not m._forward_hooks for m in tiny.generator.modules())


def test_channel_selection_normalise_and_gain():
    data = np.zeros((5, 4, 4), np.float32)
    data[3] = 0.25
    data[4, 0, 0] = -0.5
    assert select_channels(data, 9).shape == (1, 4, 4) and select_channels(data, 9)[0, 0, 0] == -0.5
    assert select_channels(data, 4, rgb=True).shape == (3, 4, 4)  # clamped to channels 2..4
    grey = layer_image(data, 3, normalize=True)
    assert grey.shape == (4, 4, 3) and (grey == 255).all()  # 0.25 normalised to 1.0
    assert (layer_image(data, 3, normalize=False) == np.uint8(0.25 * 127.5 + 128)).all()
    quieter = layer_image(data, 3, normalize=True, gain_db=-20)  # x 0.1
    assert (quieter == np.uint8(0.1 * 127.5 + 128)).all()
    stats = layer_stats(data, 4)
    assert stats["max"] == (0.5, 0.5) and stats["mean"][1] == np.float32(-0.5 / 16)


def test_layer_fft_is_an_image_of_the_layer_size(tiny):
    layers = capture_layers(World(tiny), Tile(0, 0))
    spec = layer_spectrum(layers[1].data, beta=8, db_range=40)
    assert spec.shape == layers[1].shape[1:] + (3,) and spec.dtype == np.uint8
    assert not (spec == spec[0, 0]).all()
