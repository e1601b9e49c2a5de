"""Tests of model files: pn.save / pn.load round trips, atomic writes, refused files."""

from __future__ import annotations

import gzip
import io
import json
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from safetensors.numpy import load_file, save_file

import plainnet as pn
from plainnet.io import ModelFileError
from plainnet.nn import Module, Parameter, module_from_spec, module_to_spec


# -- small modules of our own, so these tests do not depend on the layer library --------
@pn.nn.register
class IoAffine(Module):
    """y = x Wᵀ + b with W of shape (n_out, n_in), like Linear."""

    def __init__(self, n_in: int, n_out: int, dtype: str = "float32"):
        super().__init__()
        self.n_in, self.n_out, self.dtype_name = n_in, n_out, dtype
        rng = np.random.default_rng(n_in * 100 + n_out)
        self.weight = Parameter(rng.normal(size=(n_out, n_in)), dtype=dtype)
        self.bias = Parameter(rng.normal(size=n_out), dtype=dtype)

    def get_config(self):
        return {"n_in": self.n_in, "n_out": self.n_out, "dtype": self.dtype_name}

    def forward(self, x):
        return x @ self.weight.T + self.bias


@pn.nn.register
class IoRunningStats(Module):
    """Keeps buffers (a running mean and an integer counter), like BatchNorm."""

    def __init__(self, n: int, dtype: str = "float32"):
        super().__init__()
        self.n, self.dtype_name = n, dtype
        self.scale = Parameter(np.ones(n), dtype=dtype)
        self.register_buffer("running_mean", np.zeros(n, dtype=dtype))
        self.register_buffer("count", np.array(0, dtype=np.int64))

    def get_config(self):
        return {"n": self.n, "dtype": self.dtype_name}

    def forward(self, x):
        return (x - self.running_mean) * self.scale


@pn.nn.register
class IoStack(Module):
    """A container whose config nests its children's specs, like Sequential."""

    def __init__(self, layers=()):
        super().__init__()
        for i, layer in enumerate(layers):
            setattr(self, str(i), layer)

    def get_config(self):
        return {"layers": [module_to_spec(m) for m in self.children()]}

    @classmethod
    def from_config(cls, config):
        return cls([module_from_spec(spec) for spec in config["layers"]])

    def forward(self, x):
        for m in self.children():
            x = m(x)
        return x


@pn.nn.register
class IoNoDtypeConfig(Module):
    """A layer that forgets its dtype in get_config (rebuilt as float32 by default)."""

    def __init__(self, n: int, dtype: str = "float32"):
        super().__init__()
        self.n = n
        self.w = Parameter(np.linspace(0.1, 1.0, n), dtype=dtype)
        self.register_buffer("b", np.linspace(-1.0, 0.0, n).astype(dtype))

    def get_config(self):
        return {"n": self.n}

    def forward(self, x):
        return x * self.w + self.b


def _model(dtype="float32"):
    model = IoStack([IoAffine(3, 5, dtype), IoRunningStats(5, dtype), IoAffine(5, 2, dtype)])
    rng = np.random.default_rng(7)
    model.get_submodule("1").running_mean[...] = rng.normal(size=5)
    model.get_submodule("1").count[...] = 123
    return model


def _same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _plainnet_file(path, tensors, architecture, fmt="1"):
    metadata = {"plainnet.format_version": fmt, "plainnet.version": "0.1.0"}
    if architecture is not None:
        metadata["plainnet.architecture"] = (
            architecture if isinstance(architecture, str) else json.dumps(architecture)
        )
    save_file(tensors, str(path), metadata=metadata)


# -- round trips ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_is_bit_exact_with_buffers(tmp_path, dtype):
    model = _model(dtype)
    path = tmp_path / "model.safetensors"
    pn.save(model, path)
    loaded = pn.load(path)
    assert type(loaded) is IoStack
    original, restored = model.state_dict(), loaded.state_dict()
    assert list(restored) == list(original)
    for name in original:
        assert _same_bits(original[name], restored[name]), name
    X = np.random.default_rng(1).normal(size=(4, 3)).astype(dtype)
    assert _same_bits(model.predict(X), loaded.predict(X))


def test_file_tensors_are_named_as_the_state_dict(tmp_path):
    model = _model()
    path = tmp_path / "m.safetensors"
    pn.save(model, path)
    tensors = load_file(str(path))
    assert set(tensors) == {"0.weight", "0.bias", "1.scale", "1.running_mean", "1.count",
                            "2.weight", "2.bias"}
    assert tensors["1.count"].dtype == np.int64 and int(tensors["1.count"]) == 123
    assert tensors["0.weight"].shape == (5, 3)


def test_loaded_model_is_in_eval_mode_and_independent(tmp_path):
    model = _model()
    path = tmp_path / "m.safetensors"
    pn.save(model, path)
    loaded = pn.load(str(path))
    assert not loaded.training and all(not m.training for m in loaded.modules())
    loaded.get_submodule("0").weight.data[...] = 0.0
    assert np.any(model.get_submodule("0").weight.data != 0.0)
    loaded.get_submodule("1").running_mean[...] = 0.0
    loaded.parameters()[0].data += 1.0  # arrays from the file are writable copies


def test_dtype_missing_from_config_still_round_trips_exactly(tmp_path):
    model = IoNoDtypeConfig(4, dtype="float64")
    path = tmp_path / "m.safetensors"
    pn.save(model, path)
    loaded = pn.load(path)
    assert loaded.w.dtype == np.float64 and loaded.b.dtype == np.float64
    assert _same_bits(loaded.w.data, model.w.data) and _same_bits(loaded.b, model.b)


@settings(max_examples=25, deadline=None)
@given(
    weights=hnp.arrays(
        dtype=st.sampled_from([np.float32, np.float64]),
        shape=(2, 3),
        elements={"allow_nan": False, "allow_infinity": False, "allow_subnormal": True},
    )
)
def test_any_finite_float_values_round_trip_bit_exact(tmp_path_factory, weights):
    path = tmp_path_factory.mktemp("prop") / "m.safetensors"
    model = IoAffine(3, 2, dtype=weights.dtype.name)
    model.weight.data[...] = weights
    pn.save(model, path)
    assert _same_bits(pn.load(path).weight.data, weights)


def test_metadata_round_trip(tmp_path):
    path = tmp_path / "m.safetensors"
    meta = {
        "feature_names": ["a", "b", "c"],
        "classes": np.array([3, 5]),
        "threshold": np.float32(0.5),
        "nested": {"epochs": 7, "ok": True, "none": None},
    }
    pn.save(_model(), path, metadata=meta)
    model, got = pn.io.load_with_metadata(path)
    assert isinstance(model, IoStack)
    assert got == {
        "feature_names": ["a", "b", "c"],
        "classes": [3, 5],
        "threshold": 0.5,
        "nested": {"epochs": 7, "ok": True, "none": None},
    }
    info = pn.io.read_metadata(path)
    assert info["format_version"] == pn.io.FORMAT_VERSION
    assert info["plainnet_version"] == pn.__version__
    assert info["architecture"] == module_to_spec(_model())
    assert info["metadata"]["classes"] == [3, 5]
    assert info["tensors"]["0.weight"] == {"dtype": "F32", "shape": [5, 3]}


def test_metadata_defaults_to_empty(tmp_path):
    path = tmp_path / "m.safetensors"
    pn.save(IoAffine(2, 2), path)
    assert pn.io.load_with_metadata(path)[1] == {}


@pytest.mark.parametrize(
    "meta, message",
    [({"f": object()}, "JSON"), ({1: "x"}, "keys must be strings"), (["x"], "must be a dict")],
)
def test_bad_metadata_is_refused_before_touching_the_file(tmp_path, meta, message):
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"previous contents")
    with pytest.raises(TypeError, match=message):
        pn.save(IoAffine(2, 2), path, metadata=meta)
    assert path.read_bytes() == b"previous contents"
    assert os.listdir(tmp_path) == ["m.safetensors"]


@pytest.mark.parametrize("thing", [[np.ones(2)], "model", 3.0])
def test_save_rejects_non_modules(tmp_path, thing):
    with pytest.raises(TypeError, match="plainnet Module"):
        pn.save(thing, tmp_path / "m.safetensors")
    assert os.listdir(tmp_path) == []


def test_save_rejects_unjsonable_config(tmp_path):
    class IoBadConfig(IoAffine):
        def get_config(self):
            return {"n_in": object()}

    with pytest.raises(TypeError, match="JSON"):
        pn.save(IoBadConfig(2, 2), tmp_path / "m.safetensors")


# -- atomic saves ----------------------------------------------------------------------
def test_save_replaces_an_existing_file_whole(tmp_path):
    path = tmp_path / "m.safetensors"
    pn.save(IoAffine(20, 30), path)
    pn.save(IoAffine(2, 2), path)
    assert type(pn.load(path)) is IoAffine and pn.load(path).weight.shape == (2, 2)
    assert os.listdir(tmp_path) == ["m.safetensors"]


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_failed_save_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch, failing):
    path = tmp_path / "m.safetensors"
    pn.save(IoAffine(3, 4), path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(f"plainnet.io.files.os.{failing}", boom)
    with pytest.raises(OSError, match="No space left"):
        pn.save(IoAffine(5, 6), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.safetensors"]
    assert pn.load(path).weight.shape == (4, 3)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_save_keeps_permissions_of_the_replaced_file(tmp_path):
    path = tmp_path / "m.safetensors"
    pn.save(IoAffine(2, 2), path)
    assert os.stat(path).st_mode & 0o777 != 0o600  # not mkstemp's private mode
    os.chmod(path, 0o640)
    pn.save(IoAffine(2, 2), path)
    assert os.stat(path).st_mode & 0o777 == 0o640


def test_save_into_a_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        pn.save(IoAffine(2, 2), tmp_path / "nope" / "m.safetensors")


# -- refused files ---------------------------------------------------------------------
def test_missing_file_names_the_path(tmp_path):
    path = tmp_path / "absent.safetensors"
    with pytest.raises(FileNotFoundError, match="absent.safetensors"):
        pn.load(path)


@pytest.mark.parametrize("keep", [0, 3, 8, 20, 0.5, -1])
def test_truncated_file_is_refused(tmp_path, keep):
    path = tmp_path / "m.safetensors"
    pn.save(_model(), path)
    data = path.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else keep % len(data)
    path.write_bytes(data[:cut])
    with pytest.raises(ModelFileError, match="empty|truncated|not a safetensors"):
        pn.load(path)
    assert issubclass(ModelFileError, ValueError)


def test_every_prefix_of_a_model_file_is_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    pn.save(IoStack([IoAffine(2, 3), IoRunningStats(3)]), path)
    data = path.read_bytes()
    for cut in range(len(data)):
        with pytest.raises(ModelFileError):
            pn.io.format.decode(data[:cut], "prefix")
    assert pn.io.format.decode(data, "whole")[0]["0.weight"].shape == (3, 2)


def test_trailing_garbage_is_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    pn.save(_model(), path)
    path.write_bytes(path.read_bytes() + b"\x00" * 16)
    with pytest.raises(ModelFileError, match="extra bytes"):
        pn.load(path)


def test_text_file_is_refused(tmp_path):
    path = tmp_path / "notes.safetensors"
    path.write_text("these are not the weights you are looking for\n")
    with pytest.raises(ModelFileError, match="text file"):
        pn.load(path)


class _Payload:
    """Unpickling this writes a marker file: proof that a pickle would run code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('pwned')",))


def test_pickle_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "marker"
    payload = pickle.dumps(_Payload(marker), protocol=4)
    pickle.loads(pickle.dumps(_Payload(tmp_path / "control")))  # the payload is live...
    assert (tmp_path / "control").exists()
    path = tmp_path / "model.pkl"
    path.write_bytes(payload)
    with pytest.raises(ModelFileError, match="pickle"):
        pn.load(path)
    assert not marker.exists()  # ...but loading never ran it


def test_torch_style_zip_with_pickle_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "marker"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps(_Payload(marker), protocol=2))
        zf.writestr("archive/version", "3\n")
    path = tmp_path / "model.pt"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(ModelFileError, match="zip archive"):
        pn.load(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "writer, message",
    [
        (lambda p: np.save(p, np.ones(3)), "npy"),
        (lambda p: p.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64), "HDF5"),
        (lambda p: p.write_bytes(gzip.compress(b"x" * 100)), "gzip"),
        (lambda p: p.write_bytes(bytes(range(256)) * 4), "truncated or not a safetensors"),
    ],
)
def test_other_foreign_files_are_refused(tmp_path, writer, message):
    path = tmp_path / "model.bin"
    writer(path)
    if not path.exists():  # np.save appends .npy
        path = tmp_path / "model.bin.npy"
    with pytest.raises(ModelFileError, match=message):
        pn.load(path)


def test_header_that_is_not_json_is_refused(tmp_path):
    header = b"{not json at all}"
    path = tmp_path / "m.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    with pytest.raises(ModelFileError, match="not valid JSON"):
        pn.load(path)


def test_plain_safetensors_without_architecture_is_refused(tmp_path):
    path = tmp_path / "weights.safetensors"
    save_file({"weight": np.ones((2, 2), np.float32)}, str(path))
    with pytest.raises(ModelFileError, match="without plainnet's architecture"):
        pn.load(path)


def test_unknown_module_class_is_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    _plainnet_file(path, {"w": np.ones(2, np.float32)},
                   {"class": "os.system", "config": {"command": "echo hi"}})
    with pytest.raises(ModelFileError, match="unknown module class 'os.system'"):
        pn.load(path)


@pytest.mark.parametrize(
    "architecture, message",
    [
        ("{broken", "not valid JSON"),
        ('["IoAffine"]', "'class' name"),
        ({"class": "IoAffine", "config": [1, 2]}, "'config' must be an object"),
        ({"class": "IoAffine", "config": {"n_in": 2, "bogus": 1}}, "cannot rebuild"),
    ],
)
def test_bad_architecture_is_refused(tmp_path, architecture, message):
    path = tmp_path / "m.safetensors"
    _plainnet_file(path, {"weight": np.ones((2, 2), np.float32)}, architecture)
    with pytest.raises(ModelFileError, match=message):
        pn.load(path)


def test_newer_format_is_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    _plainnet_file(path, {}, module_to_spec(IoAffine(2, 2)), fmt="99")
    with pytest.raises(ModelFileError, match="format 99"):
        pn.load(path)


@pytest.mark.parametrize(
    "tensors, message",
    [
        ({"weight": np.ones((2, 2), np.float32)}, "missing"),
        ({"weight": np.ones((2, 2), np.float32), "bias": np.ones(2, np.float32),
          "extra": np.ones(1, np.float32)}, "unexpected"),
        ({"weight": np.ones((3, 2), np.float32), "bias": np.ones(2, np.float32)}, "shape"),
    ],
)
def test_weights_that_do_not_fit_the_architecture_are_refused(tmp_path, tensors, message):
    path = tmp_path / "m.safetensors"
    _plainnet_file(path, tensors, module_to_spec(IoAffine(2, 2)))
    with pytest.raises(ModelFileError, match=message):
        pn.load(path)


def test_unknown_device_is_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    pn.save(IoAffine(2, 2), path)
    assert isinstance(pn.load(path, device="cpu"), IoAffine)
    with pytest.raises(ValueError, match="device"):
        pn.load(path, device="tpu")


# -- with the layer library ------------------------------------------------------------
def _layers():
    nn = pn.nn
    if not all(hasattr(nn, name) for name in ("Sequential", "Linear", "ReLU")):
        pytest.skip("pn.nn.Sequential / Linear / ReLU are not available yet")
    return nn


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sequential_round_trip(tmp_path, dtype):
    nn = _layers()
    pn.seed(0)
    model = nn.Sequential(nn.Linear(4, 8, dtype=dtype), nn.ReLU(), nn.Linear(8, 3, dtype=dtype))
    path = tmp_path / "seq.safetensors"
    pn.save(model, path)
    assert set(load_file(str(path))) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    loaded = pn.load(path)
    assert type(loaded) is nn.Sequential
    for name, value in model.state_dict().items():
        assert _same_bits(value, loaded.state_dict()[name]), name
    X = np.random.default_rng(0).normal(size=(5, 4)).astype(dtype)
    assert _same_bits(model.predict(X), loaded.predict(X))


def test_batchnorm_running_stats_round_trip(tmp_path):
    nn = _layers()
    if not hasattr(nn, "BatchNorm1d"):
        pytest.skip("pn.nn.BatchNorm1d is not available yet")
    pn.seed(1)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU())
    X = np.random.default_rng(2).normal(loc=3.0, size=(16, 3)).astype(np.float32)
    model.train()
    for _ in range(3):
        model(X)  # updates the running statistics
    path = tmp_path / "bn.safetensors"
    pn.save(model, path)
    loaded = pn.load(path)
    state = model.state_dict()
    assert any("running_mean" in name for name in state)
    for name, value in state.items():
        assert _same_bits(value, loaded.state_dict()[name]), name
    assert _same_bits(model.predict(X), loaded.predict(X))


def test_sequential_file_loads_into_torch(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    nn = _layers()
    pn.seed(3)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    path = tmp_path / "seq.safetensors"
    pn.save(model, path)
    twin = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    twin.load_state_dict(safetensors_torch.load_file(str(path)))
    X = np.random.default_rng(4).normal(size=(6, 4)).astype(np.float32)
    with torch.no_grad():
        expected = twin(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-5, atol=1e-6)


def test_batchnorm_weights_cross_to_torch_and_back(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    nn = _layers()
    if not hasattr(nn, "BatchNorm1d"):
        pytest.skip("pn.nn.BatchNorm1d is not available yet")
    pn.seed(5)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    X = np.random.default_rng(6).normal(loc=2.0, size=(10, 3)).astype(np.float32)
    model.train()
    model(X)
    path = tmp_path / "bn.safetensors"
    pn.save(model, path)
    twin = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(),
                               torch.nn.Linear(4, 2))
    twin.load_state_dict(safetensors_torch.load_file(str(path)))
    twin.eval()
    with torch.no_grad():
        np.testing.assert_allclose(twin(torch.from_numpy(X)).numpy(), model.predict(X),
                                   rtol=1e-5, atol=1e-6)
        twin(torch.from_numpy(X))
    twin.train()
    twin(torch.from_numpy(X))  # new running statistics, then back to plainnet
    back = tmp_path / "from_torch.safetensors"
    safetensors_torch.save_file(twin.state_dict(), str(back))
    model.load_state_dict(load_file(str(back)))
    twin.eval()
    with torch.no_grad():
        np.testing.assert_allclose(model.predict(X), twin(torch.from_numpy(X)).numpy(),
                                   rtol=1e-5, atol=1e-6)


# -- the docs page ---------------------------------------------------------------------
def _doc_blocks():
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "docs" / "data_and_files.md"
    return re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("index", range(len(_doc_blocks())))
def test_docs_page_blocks_run(index, capsys):
    block = _doc_blocks()[index]
    if "import torch" in block:
        pytest.importorskip("torch")
    exec(compile(block, f"docs/data_and_files.md block {index}", "exec"), {"__name__": "doc"})
    assert capsys.readouterr().out or "assert" in block
