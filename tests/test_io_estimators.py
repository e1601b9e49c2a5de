"""Fitted estimators saved and loaded without pickle, and exported to ONNX (issue 21)."""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest

import plainnet as pn
from plainnet.estimators import MLPClassifier, MLPRegressor, NeuronClassifier
from plainnet.io import ModelFileError

RNG = np.random.default_rng(0)
X = RNG.normal(size=(80, 4))


def _fit(est, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


CASES = {
    "binary-labels": lambda: _fit(MLPClassifier((6,), max_iter=8, random_state=0),
                                  np.where(X[:, 0] > 0, "yes", "no")),
    "multiclass": lambda: _fit(MLPClassifier((6, 5), activation="tanh", max_iter=8,
                                             random_state=1), (X[:, :3].argmax(1) + 3)),
    "multilabel": lambda: _fit(MLPClassifier((6,), max_iter=8, random_state=2),
                               (X[:, :3] > 0).astype(int)),
    "early-stopping": lambda: _fit(MLPClassifier((6,), max_iter=8, early_stopping=True,
                                                 random_state=3), (X[:, 0] > 0).astype(int)),
    "regressor": lambda: _fit(MLPRegressor((7,), max_iter=8, random_state=0), X @ [1, 2, 3, 4]),
    "regressor-2-outputs": lambda: _fit(MLPRegressor((7,), max_iter=8, random_state=0),
                                        X[:, :2] * 3),
    "neuron": lambda: _fit(NeuronClassifier(max_iter=8, random_state=0),
                           (X[:, 1] > 0).astype(int)),
}


def _outputs(est):
    if hasattr(est, "predict_proba"):
        return est.predict_proba(X)
    return est.predict(X)


@pytest.mark.parametrize("case", sorted(CASES))
def test_save_and_load_give_the_same_estimator(tmp_path, case):
    est = CASES[case]()
    path = tmp_path / "est.safetensors"
    est.save(path)
    loaded = type(est).load(path)
    assert type(loaded) is type(est)
    assert loaded.get_params() == est.get_params()
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    np.testing.assert_array_equal(_outputs(loaded), _outputs(est))
    for attr in ("n_features_in_", "n_outputs_", "out_activation_", "loss_curve_", "n_iter_"):
        if hasattr(est, attr):
            assert getattr(loaded, attr) == getattr(est, attr), attr
    if hasattr(est, "classes_"):
        assert loaded.classes_.dtype == est.classes_.dtype
        np.testing.assert_array_equal(loaded.classes_, est.classes_)
    assert loaded.score(X, est.predict(X)) == pytest.approx(est.score(X, est.predict(X)))


def test_a_loaded_estimator_keeps_training(tmp_path):
    est = CASES["multiclass"]()
    path = tmp_path / "est.safetensors"
    est.save(path, metadata={"note": "first run"})
    loaded = MLPClassifier.load(path)
    assert pn.io.load_with_metadata(path)[1]["note"] == "first run"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded.partial_fit(X, (X[:, :3].argmax(1) + 3))
    assert loaded.n_iter_ >= 1 and np.isfinite(loaded.loss_)


def test_pn_save_takes_an_estimator(tmp_path):
    est = CASES["multiclass"]()
    path = tmp_path / "est.safetensors"
    pn.save(est, path)
    np.testing.assert_array_equal(MLPClassifier.load(path).predict(X), est.predict(X))
    assert isinstance(pn.load(path), pn.nn.Sequential)  # the network alone


def test_the_wrong_class_or_a_plain_model_is_refused(tmp_path):
    path = tmp_path / "est.safetensors"
    pn.save(CASES["regressor"](), path)
    with pytest.raises(ModelFileError, match="holds a MLPRegressor, not a MLPClassifier"):
        MLPClassifier.load(path)
    pn.save(pn.nn.Linear(4, 1), path)
    with pytest.raises(ModelFileError, match="not a fitted estimator"):
        MLPRegressor.load(path)


def test_an_unfitted_estimator_is_refused(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        pn.save(MLPClassifier(), tmp_path / "est.safetensors")


def test_a_callable_loss_is_refused_with_a_way_out(tmp_path):
    def loss(output, target):
        return pn.losses.mse(output, target)

    est = _fit(MLPRegressor((3,), max_iter=3, loss=loss, random_state=0), X[:, 0])
    with pytest.raises(TypeError, match=r"pn.save\(est.model_, path\)"):
        est.save(tmp_path / "est.safetensors")


@pytest.mark.parametrize("case", sorted(CASES))
def test_to_onnx_matches_predict_proba_or_predict(tmp_path, case):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    import json

    import onnx

    est = CASES[case]()
    path = est.to_onnx(tmp_path / "est.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input": X.astype(est.model_.dtype)})
    np.testing.assert_allclose(got, _outputs(est), rtol=1e-5, atol=1e-7)
    meta = {p.key: json.loads(p.value) for p in onnx.load(str(path)).metadata_props}
    assert meta["plainnet.n_features_in"] == 4
    if hasattr(est, "classes_"):
        assert meta["plainnet.classes"] == est.classes_.tolist()


def test_an_estimator_trained_on_a_device(tmp_path):
    from fake_device import Fake2Array, FakeArray, FakeBackend
    from plainnet import backend

    backend.register_backend(FakeBackend("fake", FakeArray))
    backend.register_backend(FakeBackend("fake2", Fake2Array))
    try:
        est = _fit(MLPClassifier((6,), max_iter=5, random_state=0, device="fake"),
                   (X[:, 0] > 0).astype(int))
        path = tmp_path / "est.safetensors"
        pn.save(est, path)
        loaded = MLPClassifier.load(path)
        assert loaded.model_.device == "cpu"
        np.testing.assert_allclose(loaded.predict_proba(X), est.predict_proba(X), rtol=1e-6)
        if importlib.util.find_spec("onnxruntime") and importlib.util.find_spec("onnx"):
            import onnxruntime as ort

            onnx_path = est.to_onnx(tmp_path / "est.onnx")
            session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
            (got,) = session.run(None, {"input": X.astype(loaded.model_.dtype)})
            np.testing.assert_allclose(got, est.predict_proba(X), rtol=1e-5, atol=1e-7)
    finally:
        backend.unregister_backend("fake")
        backend.unregister_backend("fake2")
