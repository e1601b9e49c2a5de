"""pn.plot.feature_maps and pn.plot.filters: they draw the model's own maps and weights."""

from __future__ import annotations

import numpy as np
import pytest

import plainnet as pn

pytest.importorskip("matplotlib")


def _model():
    pn.seed(0)
    nn = pn.nn
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(3, 5, 3),
                         nn.Flatten(), nn.Linear(5, 2))


def test_feature_maps_draw_each_convolutions_output():
    model = _model()
    x = np.random.default_rng(0).random((1, 8, 8)).astype(np.float32)
    fig = pn.plot.feature_maps(model, x)
    images = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert len(images) == 3 + 5  # the ReLU after the first conv, the second conv as it is
    first = np.maximum(model[0](x[None]).data[0], 0)
    for c in range(3):
        np.testing.assert_allclose(images[c], first[c], rtol=1e-6)
    second = model[:4](x[None]).data[0]
    np.testing.assert_allclose(images[3 + 4], second[4], rtol=1e-5, atol=1e-6)
    assert model.training  # the mode is put back
    fig = pn.plot.feature_maps(model, x[None], layers=[2], max_maps=2)
    assert len([ax for ax in fig.axes if ax.images]) == 2


def test_filters_draw_the_weights_on_one_symmetric_scale():
    model = _model()
    fig = pn.plot.filters(model[3])
    panels = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(panels) == 5 * 3
    np.testing.assert_allclose(panels[4].get_array(), model[3].weight.data[1, 1], rtol=1e-6)
    limit = np.abs(model[3].weight.data).max()
    assert panels[0].get_clim() == pytest.approx((-limit, limit))
    assert len([ax for ax in pn.plot.filters(model[0]).axes if ax.images]) == 3


def test_bad_arguments_are_refused():
    model = _model()
    with pytest.raises(TypeError, match="Conv1d, Conv2d or ConvTranspose2d"):
        pn.plot.filters(model[5])
    with pytest.raises(ValueError, match=r"one image .* got shape \(2, 1, 8, 8\)"):
        pn.plot.feature_maps(model, np.zeros((2, 1, 8, 8)))
    with pytest.raises(ValueError, match="no convolution layer"):
        pn.plot.feature_maps(pn.nn.Sequential(pn.nn.Linear(2, 2)), np.zeros((1, 1, 2)))
