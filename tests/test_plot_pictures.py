"""The pictures: training curves, decision boundaries, confusion matrices, network diagrams.

Each figure is rendered to PNG and read back (a real image, not one flat colour), and the data
it draws is checked against its source: the history lists, the model's predictions,
scikit-learn's confusion matrix, the layer sizes.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

matplotlib = pytest.importorskip("matplotlib")

from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402

from plainnet.nn import Module, Parameter  # noqa: E402
from plainnet.plot._figure import predict_classes  # noqa: E402
from plainnet.plot.boundary import decision_boundary  # noqa: E402
from plainnet.plot.confusion import (  # noqa: E402
    confusion_counts,
    confusion_matrix,
    normalize_counts,
)
from plainnet.plot.history import history  # noqa: E402
from plainnet.plot.network import network  # noqa: E402
from plainnet.training.history import History  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def render(fig) -> np.ndarray:
    """Save ``fig`` as PNG, check the bytes, and return the decoded pixels."""
    import matplotlib.image as mpimg

    assert isinstance(fig, Figure)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40)
    data = buffer.getvalue()
    assert data.startswith(PNG_MAGIC) and len(data) > 1000
    pixels = mpimg.imread(io.BytesIO(data), format="png")
    assert pixels.ndim == 3 and pixels.shape[0] > 50 and pixels.shape[1] > 50
    assert pixels[..., :3].std() > 0.02, "the picture is a single flat colour"
    return pixels


# -- models used by the tests -------------------------------------------------------------


class Scores:
    """Class scores (n, 2): class 1 where x0 > x1."""

    def predict(self, X):
        X = np.asarray(X)
        return np.column_stack([X[:, 1] - X[:, 0], X[:, 0] - X[:, 1]])


class Logit(Module):
    """A plainnet Module with one logit column: class 1 where x0 + x1 > 0.5."""

    def __init__(self):
        super().__init__()
        self.w = Parameter(np.array([[1.0], [1.0]]))

    def forward(self, x):
        return x @ self.w - 0.5


class FakeLinear(Module):
    """A stand-in layer with Linear's sizes (the drawing reads only in/out_features)."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.in_features, self.out_features = n_in, n_out
        self.weight = Parameter(np.zeros((n_out, n_in)))

    def forward(self, x):
        return x @ self.weight.T


class Act(Module):
    def forward(self, x):
        return x


class Chain(Module):
    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            setattr(self, str(i), layer)

    def forward(self, x):
        for layer in self.children():
            x = layer(x)
        return x


def blobs(n=90, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, (X[:, 0] > X[:, 1]).astype(int)


# -- history --------------------------------------------------------------------------------

LOGS = {
    "loss": [1.0, 0.7, 0.5, 0.4, 0.35],
    "val_loss": [1.1, 0.8, 0.6, 0.65, 0.7],
    "accuracy": [0.5, 0.6, 0.75, 0.8, 0.85],
    "val_accuracy": [0.45, 0.6, 0.7, 0.72, 0.71],
    "lr": [0.1] * 5,
    "epoch_time": [0.01] * 5,
}


def visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def line(ax, label):
    matches = [ln for ln in ax.get_lines() if ln.get_label() == label]
    assert len(matches) == 1, [ln.get_label() for ln in ax.get_lines()]
    return matches[0]


def test_history_draws_every_curve_from_a_dict():
    fig = history(LOGS)
    render(fig)
    axes = visible_axes(fig)
    assert [ax.get_title() for ax in axes] == ["loss", "accuracy"]
    for ax, name in zip(axes, ["loss", "accuracy"], strict=True):
        np.testing.assert_array_equal(line(ax, "train").get_ydata(), LOGS[name])
        np.testing.assert_array_equal(line(ax, "validation").get_ydata(), LOGS[f"val_{name}"])
        np.testing.assert_array_equal(line(ax, "train").get_xdata(), [1, 2, 3, 4, 5])


def test_history_marks_one_kept_epoch_in_every_panel():
    """Issue 20: the epoch early stopping restored, the same in both panels; else the last."""
    for best_epoch, x, prefix in ((3, 3, "restored best epoch 3"), (None, 5, "last epoch 5")):
        fig = history(LOGS, best_epoch=best_epoch)
        for ax, name in zip(visible_axes(fig), ["loss", "accuracy"], strict=True):
            mark = line(ax, prefix + (" (weights kept as trained)" if best_epoch is None
                                      else ""))
            assert list(mark.get_xdata()) == [x, x]  # the vertical line
            stars = [ln for ln in ax.get_lines() if ln.get_marker() == "*"]
            assert len(stars) == 1 and stars[0].get_xdata()[0] == x
            assert stars[0].get_ydata()[0] == LOGS[f"val_{name}"][x - 1]
    with pytest.raises(ValueError, match="not one of the run's epochs"):
        history(LOGS, best_epoch=9)


def test_history_object_uses_its_epoch_numbers_and_selected_metrics():
    h = History()
    for epoch, (loss, val) in enumerate(zip(LOGS["loss"], LOGS["val_loss"], strict=True), 3):
        h.record(epoch, {"loss": loss, "val_loss": val, "lr": 0.01 * epoch})
    fig = history(h, metrics=["val_loss", "lr"])
    render(fig)
    loss_ax, lr_ax = visible_axes(fig)
    np.testing.assert_array_equal(line(loss_ax, "train").get_xdata(), [3, 4, 5, 6, 7])
    np.testing.assert_allclose(line(lr_ax, "train").get_ydata(), [0.03, 0.04, 0.05, 0.06, 0.07])
    assert not any(ln.get_label() == "validation" for ln in lr_ax.get_lines())


def test_history_survives_a_diverged_run_and_train_only_logs():
    fig = history({"loss": [1.0, 0.5, float("nan")], "val_loss": [1.2, float("nan"), np.inf]})
    render(fig)
    mark = [ln for ln in fig.axes[0].get_lines() if ln.get_label().startswith("last epoch")]
    assert list(mark[0].get_xdata()) == [3, 3]  # no restore recorded: the last epoch
    assert not [ln for ln in fig.axes[0].get_lines() if ln.get_marker() == "*"]  # NaN there
    fig = history({"loss": [3.0, 2.0, 1.0]}, best_epoch=2)
    labels = [ln.get_label() for ln in fig.axes[0].get_lines()]
    assert labels[:2] == ["train", "restored best epoch 2"]


def test_history_from_a_real_fit():
    pytest.importorskip("plainnet.losses")
    import plainnet as pn

    X, y = blobs(120)
    model = Chain(FakeLinear(2, 2))
    model.get_submodule("0").weight.data[...] = np.random.default_rng(1).normal(size=(2, 2))
    h = pn.fit(model, X, y, loss="cross_entropy", epochs=3, batch_size=32,
               validation_split=0.25, verbose=0)
    fig = history(h)
    render(fig)
    np.testing.assert_allclose(line(fig.axes[0], "validation").get_ydata(), h["val_loss"])


@pytest.mark.parametrize(
    "h, metrics, error, match",
    [
        ([1, 2, 3], None, TypeError, "History or a dict"),
        ({}, None, ValueError, "empty"),
        ({"loss": []}, None, ValueError, "empty"),
        ({"loss": ["a", "b"]}, None, TypeError, "list of numbers"),
        ({"loss": [[1, 2]]}, None, ValueError, "flat list"),
        ({"loss": [1.0]}, "accuracy", ValueError, "no 'accuracy'"),
        ({"loss": [1.0]}, [3], TypeError, "names"),
        ({"loss": [1.0]}, [], ValueError, "empty"),
        ({"lr": [1.0]}, None, ValueError, "no learning curve"),
    ],
)
def test_history_rejects_bad_input(h, metrics, error, match):
    with pytest.raises(error, match=match):
        history(h, metrics)


# -- reading predictions --------------------------------------------------------------------


class OnlyProba:
    classes_ = np.array(["cat", "dog", "emu"])

    def predict_proba(self, X):
        return np.eye(3)[np.asarray(X)[:, 0].astype(int)]


def test_predict_classes_reads_every_kind_of_output():
    X = np.array([[2.0, 1.0], [0.0, 1.0], [0.4, 0.0]])
    np.testing.assert_array_equal(predict_classes(Scores(), X), [1, 0, 1])
    np.testing.assert_array_equal(predict_classes(Logit(), X), [1, 1, 0])  # logits: cut at 0
    probs = lambda X: 1 / (1 + np.exp(-(X[:, :1] - 0.5)))  # noqa: E731
    np.testing.assert_array_equal(predict_classes(probs, X), [1, 0, 0])  # cut at 0.5
    np.testing.assert_array_equal(predict_classes(probs, X, threshold=0.4), [1, 0, 1])
    labels = lambda X: np.where(X[:, 0] > 1, "big", "small")  # noqa: E731
    np.testing.assert_array_equal(predict_classes(labels, X), ["big", "small", "small"])
    np.testing.assert_array_equal(
        predict_classes(OnlyProba(), np.array([[2], [0], [1]])), ["emu", "cat", "dog"]
    )


def test_predict_classes_rejects_what_is_not_a_model():
    with pytest.raises(TypeError, match="predict"):
        predict_classes(object(), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="one row per input"):
        predict_classes(lambda X: np.zeros(5), np.zeros((2, 2)))


# -- decision boundary ----------------------------------------------------------------------


def region_at(ax, point):
    """Index of the filled contour level whose region contains ``point``."""
    (contour,) = [c for c in ax.collections if hasattr(c, "levels")]
    hits = [i for i, path in enumerate(contour.get_paths())
            if len(path.vertices) and path.contains_point(point)]
    assert len(hits) == 1, hits
    return hits[0]


def test_decision_boundary_colours_each_region_by_the_predicted_class():
    X, y = blobs()
    fig = decision_boundary(Scores(), X, y, resolution=60)
    render(fig)
    ax = fig.axes[0]
    for point in [(-1.5, 1.5), (1.5, -1.5), (-2.0, -0.5), (0.5, 2.0), (1.8, 0.2)]:
        assert region_at(ax, point) == predict_classes(Scores(), np.array([point]))[0]
    scattered = np.concatenate([c.get_offsets() for c in ax.collections
                                if not hasattr(c, "levels")])
    np.testing.assert_allclose(np.sort(scattered, axis=0), np.sort(X, axis=0))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0", "1"]


def test_decision_boundary_for_a_plainnet_module_with_one_logit():
    X, _ = blobs(60, seed=3)
    y = (X.sum(axis=1) > 0.5).astype(float)
    fig, = [decision_boundary(Logit(), X, y, resolution=40)]
    ax = fig.axes[0]
    assert region_at(ax, (1.5, 1.0)) == 1 and region_at(ax, (-1.0, -1.0)) == 0


def test_decision_boundary_with_a_scikit_learn_classifier_and_given_axes():
    from sklearn.linear_model import LogisticRegression

    X, y = blobs(80, seed=1)
    names = np.array(["left", "right"])[y]
    clf = LogisticRegression().fit(X, names)
    fig = Figure()
    ax = fig.add_subplot(1, 2, 2)
    assert decision_boundary(clf, X, names, resolution=30, ax=ax) is fig
    render(fig)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["left", "right"]
    point = np.array([[2.0, -2.0]])
    assert region_at(ax, point[0]) == list(clf.classes_).index(clf.predict(point)[0])


@pytest.mark.parametrize(
    "X, y, kwargs, error, match",
    [
        (np.zeros((4, 3)), np.zeros(4), {}, ValueError, "2 columns"),
        (np.zeros(4), np.zeros(4), {}, ValueError, "2-D"),
        (np.zeros((4, 2)), np.zeros(3), {}, ValueError, "one label per sample"),
        (np.zeros((4, 2)), np.zeros(4), {"resolution": 1}, ValueError, "resolution"),
        (np.zeros((4, 2)), np.zeros(4), {"resolution": 2.5}, TypeError, "resolution"),
        (np.zeros((4, 2)), np.zeros(4), {"ax": "axes"}, TypeError, "Axes"),
        ([["a", "b"]], [0], {}, TypeError, "X must be"),
        (np.array([[0.0, np.inf]]), [0], {}, ValueError, "finite"),
    ],
)
def test_decision_boundary_rejects_bad_input(X, y, kwargs, error, match):
    with pytest.raises(error, match=match):
        decision_boundary(Scores(), X, y, **kwargs)


# -- confusion matrix -----------------------------------------------------------------------


label_lists = st.integers(1, 40).flatmap(
    lambda n: st.tuples(st.lists(st.integers(0, 4), min_size=n, max_size=n),
                        st.lists(st.integers(0, 4), min_size=n, max_size=n))
)


@pytest.mark.filterwarnings("ignore:A single label was found")
@settings(max_examples=60, deadline=None)
@given(label_lists, st.permutations([0, 1, 2, 3, 4]), st.integers(1, 5))
def test_confusion_counts_match_scikit_learn(pair, order, k):
    from sklearn.metrics import confusion_matrix as sk_confusion

    y_true, y_pred = pair
    np.testing.assert_array_equal(confusion_counts(y_true, y_pred),
                                  sk_confusion(y_true, y_pred))
    labels = order[:k]
    if set(labels) & set(y_true):  # scikit-learn refuses labels absent from y_true
        np.testing.assert_array_equal(confusion_counts(y_true, y_pred, labels),
                                      sk_confusion(y_true, y_pred, labels=labels))


@pytest.mark.parametrize("normalize", [None, "true", "pred", "all"])
def test_normalized_counts_match_scikit_learn(normalize):
    from sklearn.metrics import confusion_matrix as sk_confusion

    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 4, 50), rng.integers(0, 3, 50)
    ours = normalize_counts(confusion_counts(y_true, y_pred), normalize)
    np.testing.assert_allclose(ours, sk_confusion(y_true, y_pred, normalize=normalize))


def test_confusion_counts_of_string_labels_and_one_hot_rows():
    counts = confusion_counts(["b", "a", "a", "c"], ["a", "a", "c", "c"], labels=["c", "a"])
    np.testing.assert_array_equal(counts, [[1, 0], [1, 1]])
    one_hot = np.eye(3)[[0, 2, 2, 1]]
    np.testing.assert_array_equal(confusion_counts(one_hot, [0, 2, 1, 1]),
                                  [[1, 0, 0], [0, 1, 0], [0, 1, 1]])


def test_confusion_matrix_draws_the_counts_of_a_scikit_learn_model():
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import confusion_matrix as sk_confusion

    X, y = load_iris(return_X_y=True)
    X, y = X[::2, :2], y[::2]  # two features leave some mistakes to count
    clf = LogisticRegression(max_iter=500).fit(X, y)
    expected = sk_confusion(y, clf.predict(X))
    fig = confusion_matrix(clf, X, y)
    render(fig)
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.get_images()[0].get_array(), expected)
    cells = np.array([int(t.get_text()) for t in ax.texts]).reshape(3, 3)
    np.testing.assert_array_equal(cells, expected)
    accuracy = np.trace(expected) / expected.sum()
    assert f"{accuracy:.3f}" in ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2"]


def test_confusion_matrix_normalized_with_chosen_labels():
    X, y = blobs(70)
    fig = confusion_matrix(Scores(), X, y, labels=[1, 0], normalize="true")
    render(fig)
    ax = fig.axes[0]
    counts = confusion_counts(y, predict_classes(Scores(), X), labels=[1, 0])
    np.testing.assert_allclose(ax.get_images()[0].get_array(), [[1, 0], [0, 1]])
    assert ax.texts[0].get_text() == f"1.00\n({counts[0, 0]})"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1", "0"]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"normalize": "rows"}, ValueError, "normalize"),
        ({"labels": [0, 0]}, ValueError, "repeat"),
        ({"labels": []}, ValueError, "non-empty"),
        ({"y": np.zeros(3)}, ValueError, "one label per sample"),
        ({"X": np.zeros((0, 2)), "y": np.zeros(0)}, ValueError, "empty"),
        ({"X": 3}, TypeError, "array of samples"),
    ],
)
def test_confusion_matrix_rejects_bad_input(kwargs, error, match):
    args = {"X": np.zeros((4, 2)), "y": np.zeros(4)} | kwargs
    with pytest.raises(error, match=match):
        confusion_matrix(Scores(), **args)


def test_confusion_counts_reject_mismatched_lengths():
    with pytest.raises(ValueError, match="y_pred"):
        confusion_counts([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="scalar"):
        confusion_counts(1, [1])


# -- network diagram ------------------------------------------------------------------------


def circles(fig):
    return [p for p in fig.axes[0].patches if isinstance(p, Circle)]


def texts(fig):
    return " | ".join(t.get_text() for t in fig.axes[0].texts)


def test_network_draws_one_circle_per_neuron_up_to_the_cap():
    model = Chain(FakeLinear(2, 20), Act(), FakeLinear(20, 5), Act(), FakeLinear(5, 3))
    fig = network(model, max_neurons=12)
    render(fig)
    drawn = [2, 12, 5, 3]
    assert len(circles(fig)) == sum(drawn)
    (edges,) = [c for c in fig.axes[0].collections if isinstance(c, LineCollection)]
    pairs = zip(drawn[:-1], drawn[1:], strict=True)
    assert len(edges.get_segments()) == sum(a * b for a, b in pairs)
    for text in ["input\n2", "hidden 1\n20", "hidden 2\n5", "output\n3", "Act"]:
        assert text in texts(fig)
    params = 2 * 20 + 20 * 5 + 5 * 3
    assert f"{params:,} parameters" in fig.axes[0].get_title()
    xs = sorted({round(c.center[0], 6) for c in circles(fig)})
    assert len(xs) == 4  # one column per layer


def test_network_with_plainnet_layers():
    nn = pytest.importorskip("plainnet.nn")
    if not all(hasattr(nn, name) for name in ("Sequential", "Linear", "ReLU", "Sigmoid")):
        pytest.skip("pn.nn does not export Sequential/Linear/ReLU/Sigmoid yet")
    inner = nn.Sequential(nn.Linear(4, 30), nn.ReLU())
    model = nn.Sequential(inner, nn.Linear(30, 1), nn.Sigmoid())
    fig = network(model, max_neurons=8)
    render(fig)
    assert len(circles(fig)) == 4 + 8 + 1
    assert "ReLU" in texts(fig) and "Sigmoid" in texts(fig) and "hidden 1\n30" in texts(fig)
    assert f"{4 * 30 + 30 + 30 + 1:,} parameters" in fig.axes[0].get_title()


def test_network_of_a_single_layer_and_of_a_list():
    fig = network(FakeLinear(3, 2))
    assert len(circles(fig)) == 5
    fig = network([FakeLinear(3, 4), np.tanh, FakeLinear(4, 1)])
    assert len(circles(fig)) == 8 and "tanh" in texts(fig)


@pytest.mark.parametrize(
    "model, kwargs, error, match",
    [
        (Chain(FakeLinear(2, 3), FakeLinear(4, 1)), {}, ValueError, "not a chain"),
        (Chain(Act()), {}, ValueError, "found none"),
        ("model", {}, TypeError, "plainnet Module"),
        (FakeLinear(2, 2), {"max_neurons": 1}, ValueError, "max_neurons"),
    ],
)
def test_network_rejects_bad_input(model, kwargs, error, match):
    with pytest.raises(error, match=match):
        network(model, **kwargs)


def test_pictures_never_touch_pyplot():
    import subprocess
    import sys

    script = (
        "import io, sys, types\n"
        "import numpy as np\n"
        "from plainnet.plot.network import network\n"
        "from plainnet.plot.history import history\n"
        "from plainnet.plot.confusion import confusion_matrix\n"
        "layer = types.SimpleNamespace(in_features=2, out_features=3)\n"
        "for fig in (network([layer]), history({'loss': [1, 2]}),\n"
        "            confusion_matrix(lambda X: X[:, 0] > 0, np.eye(2), [1, 0])):\n"
        "    fig.savefig(io.BytesIO(), format='png')\n"
        "    assert fig.canvas.manager is None\n"
        "print('matplotlib.pyplot' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
