"""pn.save never writes a file pn.load cannot read: custom modules, allowed classes, state dicts,
file extensions (issue 21, files part)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import plainnet as pn
from plainnet.io import ModelFileError


class ArgsNet(pn.nn.Module):
    """A custom model whose constructor takes arguments and that has no get_config."""

    def __init__(self, n_in, hidden=8, *, act="tanh"):
        super().__init__()
        self.body = pn.nn.Linear(n_in, hidden)
        self.act = pn.nn.Tanh() if act == "tanh" else pn.nn.ReLU()
        self.head = pn.nn.Linear(hidden, 2)

    def forward(self, x):
        return self.head(self.act(self.body(x)))


class VarArgsNet(pn.nn.Module):
    def __init__(self, *sizes):
        super().__init__()
        pairs = zip(sizes[:-1], sizes[1:], strict=True)
        self.layers = pn.nn.Sequential(*[pn.nn.Linear(a, b) for a, b in pairs])

    def forward(self, x):
        return self.layers(x)


class ConfigNet(pn.nn.Module):
    """Declares its arguments with get_config/from_config (a shape tuple kept as a tuple)."""

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(shape)
        self.scale = pn.nn.Parameter(np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape))

    def get_config(self):
        return {"shape": list(self.shape)}

    @classmethod
    def from_config(cls, config):
        return cls(tuple(config["shape"]))

    def forward(self, x):
        return x * self.scale


class Wrapper(pn.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x)


@pn.nn.register
class RegisteredNet(pn.nn.Module):
    def __init__(self, n=3):
        super().__init__()
        self.lin = pn.nn.Linear(n, 1)

    def forward(self, x):
        return self.lin(x)


def _same(a: pn.nn.Module, b: pn.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert sa[k].dtype == sb[k].dtype and sa[k].tobytes() == sb[k].tobytes(), k


def test_constructor_arguments_are_recorded_and_the_class_passed_back(tmp_path):
    path = tmp_path / "m.safetensors"
    model = ArgsNet(4, 6, act="relu")
    pn.save(model, path)
    spec = pn.io.read_metadata(path)["architecture"]
    assert spec["config"] == {"n_in": 4, "hidden": 6, "act": "relu"}
    assert spec["module"] == __name__
    loaded = pn.load(path, classes=[ArgsNet])
    assert isinstance(loaded, ArgsNet) and isinstance(loaded.act, pn.nn.ReLU)
    _same(model, loaded)
    x = np.random.default_rng(0).normal(size=(5, 4))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_var_positional_constructors_round_trip(tmp_path):
    path = tmp_path / "m.safetensors"
    model = VarArgsNet(3, 5, 2)
    pn.save(model, path)
    assert pn.io.read_metadata(path)["architecture"]["args"] == [3, 5, 2]
    _same(model, pn.load(path, classes=[VarArgsNet]))


def test_get_config_and_from_config_are_used(tmp_path):
    path = tmp_path / "m.safetensors"
    model = ConfigNet((2, 3))
    pn.save(model, path)
    loaded = pn.load(path, classes=[ConfigNet])
    assert loaded.shape == (2, 3)
    _same(model, loaded)


def test_registered_classes_load_without_being_passed(tmp_path):
    path = tmp_path / "m.safetensors"
    model = pn.nn.Sequential(RegisteredNet(4), pn.nn.Sigmoid())
    pn.save(model, path)
    _same(model, pn.load(path))


def test_an_unallowed_class_is_refused_with_the_ways_out_and_no_private_names(tmp_path):
    path = tmp_path / "m.safetensors"
    pn.save(ArgsNet(2), path)
    with pytest.raises(ModelFileError) as info:
        pn.load(path)
    message = str(info.value)
    assert "unknown module class 'ArgsNet'" in message
    assert "classes=[ArgsNet]" in message and "@pn.nn.register" in message
    assert "trust_classes" in message and "Linear" in message
    known = message.rsplit("plainnet's own layers:", 1)[1]
    assert "_" not in known.replace(", ", "")  # no private names like _ActivationModule


def test_modules_passed_to_a_constructor_are_saved_as_their_specs(tmp_path):
    path = tmp_path / "m.safetensors"
    model = Wrapper(pn.nn.Sequential(pn.nn.Linear(2, 3), pn.nn.Tanh(), ArgsNet(3, 4)))
    pn.save(model, path)
    loaded = pn.load(path, classes=[Wrapper, ArgsNet])
    assert isinstance(loaded.inner[2], ArgsNet) and loaded.inner[2].body.out_features == 4
    _same(model, loaded)


class WithFunction(pn.nn.Module):
    def __init__(self, n, fn):
        super().__init__()
        self.lin = pn.nn.Linear(n, n)
        self.fn = fn

    def forward(self, x):
        return self.fn(self.lin(x))


def test_unsaveable_constructor_arguments_are_refused_with_the_two_ways_out(tmp_path):
    path = tmp_path / "m.safetensors"
    with pytest.raises(TypeError) as info:
        pn.save(WithFunction(2, pn.tanh), path)
    message = str(info.value)
    assert "get_config()" in message and "state_dict" in message
    assert "pn.load_state_dict" in message
    assert not path.exists()


def test_a_model_changed_after_construction_is_refused(tmp_path):
    model = ArgsNet(3, 4)
    model.head = pn.nn.Linear(4, 7)  # no longer what ArgsNet(3, 4) builds
    with pytest.raises(TypeError, match="other weights.*head.weight"):
        pn.save(model, tmp_path / "m.safetensors")
    assert os.listdir(tmp_path) == []


def test_saving_does_not_move_the_global_generator(tmp_path):
    model = ArgsNet(3)
    pn.seed(1)
    expected = pn.random.get_rng().random()
    pn.seed(1)
    pn.save(model, tmp_path / "m.safetensors")
    assert pn.random.get_rng().random() == expected


# -- a new process: nothing is imported unless allowed ----------------------------------
_MODULE = '''
import pathlib
import plainnet as pn
pathlib.Path(__file__).with_name("imported.flag").write_text("yes")

class Net(pn.nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.lin = pn.nn.Linear(n_in, n_out)

    def forward(self, x):
        return self.lin(x)
'''

_LOAD = '''
import json, sys
import plainnet as pn
path, how = sys.argv[1], sys.argv[2]
kwargs = {"none": {}, "all": {"trust_classes": True},
          "prefix": {"trust_classes": ["mymodels"]},
          "other": {"trust_classes": ["othermodels"]}}[how]
try:
    model = pn.load(path, **kwargs)
    print(json.dumps({"ok": type(model).__name__, "shape": list(model.lin.weight.shape)}))
except ValueError as err:
    print(json.dumps({"error": str(err)}))
'''


@pytest.mark.parametrize("how, allowed", [("none", False), ("all", True), ("prefix", True),
                                          ("other", False)])
def test_a_new_process_imports_classes_only_when_trusted(tmp_path, how, allowed):
    pkg = tmp_path / "lib"
    pkg.mkdir()
    (pkg / "mymodels.py").write_text(_MODULE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(pkg), *sys.path])}
    save = ("import sys, plainnet as pn, mymodels; "
            "pn.save(mymodels.Net(3, 2), sys.argv[1])")
    path = tmp_path / "m.safetensors"
    subprocess.run([sys.executable, "-c", save, str(path)], env=env, check=True, timeout=120)
    (pkg / "imported.flag").unlink()
    out = subprocess.run([sys.executable, "-c", _LOAD, str(path), how], env=env,
                         capture_output=True, text=True, timeout=120)
    result = json.loads(out.stdout)
    if allowed:
        assert result == {"ok": "Net", "shape": [2, 3]}
        assert (pkg / "imported.flag").exists()
    else:
        assert "unknown module class 'Net'" in result["error"]
        assert "trust_classes=['mymodels.Net']" in result["error"]
        assert not (pkg / "imported.flag").exists()  # the module named in the file never ran


def test_classes_must_be_modules(tmp_path):
    path = tmp_path / "m.safetensors"
    pn.save(pn.nn.Linear(2, 2), path)
    with pytest.raises(TypeError, match="Module subclasses"):
        pn.load(path, classes=[dict])


def test_register_refuses_non_modules():
    with pytest.raises(TypeError, match="subclass of pn.nn.Module"):
        pn.nn.register(dict)


# -- state dicts ----------------------------------------------------------------------
def test_state_dict_round_trip(tmp_path):
    path = tmp_path / "w.safetensors"
    model = pn.nn.Sequential(pn.nn.Linear(3, 4), pn.nn.BatchNorm1d(4), pn.nn.Linear(4, 1))
    pn.save(model.state_dict(), path)
    state = pn.load_state_dict(path)
    assert set(state) == set(model.state_dict())
    fresh = pn.nn.Sequential(pn.nn.Linear(3, 4), pn.nn.BatchNorm1d(4), pn.nn.Linear(4, 1))
    fresh.load_state_dict(state)
    _same(model, fresh)
    with pytest.raises(ModelFileError, match="pn.load_state_dict"):
        pn.load(path)


def test_a_model_file_is_also_a_state_dict_file(tmp_path):
    path = tmp_path / "m.safetensors"
    model = pn.nn.Linear(3, 2)
    pn.save(model, path)
    state = pn.load_state_dict(path)
    assert state["weight"].tobytes() == model.weight.data.tobytes()


def test_state_dicts_of_tensors_and_bad_entries(tmp_path):
    path = tmp_path / "w.safetensors"
    pn.save({"a": pn.tensor([1.0, 2.0]), "b": np.arange(3)}, path)
    state = pn.load_state_dict(path)
    np.testing.assert_array_equal(state["b"], np.arange(3))
    with pytest.raises(TypeError, match="numeric"):
        pn.save({"s": np.array(["x"])}, path)
    with pytest.raises(TypeError, match="keys must be strings"):
        pn.save({1: np.ones(2)}, path)


def test_state_dict_files_are_what_torch_reads(tmp_path):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    path = tmp_path / "w.safetensors"
    model = pn.nn.Sequential(pn.nn.Linear(3, 4), pn.nn.ReLU(), pn.nn.Linear(4, 2))
    pn.save(model.state_dict(), path)
    reference = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(),
                                    torch.nn.Linear(4, 2))
    reference.load_state_dict(st_torch.load_file(str(path)))
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-6)
    # and the other way: a file torch wrote loads into the plainnet model
    back = tmp_path / "torch.safetensors"
    st_torch.save_file(reference.state_dict(), str(back))
    fresh = pn.nn.Sequential(pn.nn.Linear(3, 4), pn.nn.ReLU(), pn.nn.Linear(4, 2))
    fresh.load_state_dict(pn.load_state_dict(back))
    _same(model, fresh)


# -- extensions ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["m.h5", "model.pt", "model"])
def test_other_extensions_warn_that_the_file_is_safetensors(tmp_path, name):
    # the CLI filters its own duplicate of this warning by the phrase "but is a safetensors file"
    with pytest.warns(UserWarning, match=" but is a safetensors file"):
        pn.save(pn.nn.Linear(2, 2), tmp_path / name)
    assert isinstance(pn.load(tmp_path / name), pn.nn.Linear)
    with pytest.warns(UserWarning, match="safetensors"):
        pn.save(pn.nn.Linear(2, 2).state_dict(), tmp_path / name)


def test_the_safetensors_extension_does_not_warn(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pn.save(pn.nn.Linear(2, 2), tmp_path / "m.SafeTensors")


class DtypeNet(pn.nn.Module):
    def __init__(self, n, dtype=np.float32, scale=2.0):
        super().__init__()
        self.lin = pn.nn.Linear(n, 2, dtype=dtype)
        self.scale = float(scale)

    def forward(self, x):
        return self.lin(x) * self.scale


def test_numpy_dtypes_and_scalars_in_constructor_arguments(tmp_path):
    path = tmp_path / "m.safetensors"
    model = DtypeNet(3, dtype=np.float64, scale=np.float64(0.5))
    pn.save(model, path)
    assert pn.io.read_metadata(path)["architecture"]["config"] == {
        "n": 3, "dtype": "float64", "scale": 0.5}
    loaded = pn.load(path, classes=[DtypeNet])
    assert loaded.lin.weight.dtype == np.float64
    _same(model, loaded)
