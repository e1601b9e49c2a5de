"""Hostile and unlucky files: nothing the user has is replaced, nothing hangs or exhausts memory,
nothing silently wrong is loaded (issue 24's model-file findings)."""

from __future__ import annotations

import json
import os
import signal
import stat
import struct
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.numpy import save_file

import plainnet as pn
from plainnet.io import ModelFileError

POSIX = pytest.mark.skipif(os.name != "posix", reason="FIFOs, devices and signals are POSIX")
LINUX = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /dev files")


@pytest.fixture
def deadline():
    """Fail (instead of hanging the run) if the test body blocks for 10 s."""
    if os.name != "posix":
        yield
        return

    def timeout(signum, frame):
        raise TimeoutError("blocked for 10 s")

    old = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(10)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _model():
    return pn.nn.Sequential(pn.nn.Linear(3, 4), pn.nn.ReLU(), pn.nn.Linear(4, 2))


def _linear_file(path, tensors, in_features=2, out_features=2):
    arch = {"class": "Linear", "config": {"in_features": in_features,
                                          "out_features": out_features}}
    save_file(tensors, str(path), metadata={"plainnet.format_version": "1",
                                            "plainnet.architecture": json.dumps(arch)})


def _raw_file(path, header: dict, data: bytes = b"") -> None:
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


# -- saving never replaces what is not a regular file -----------------------------------
@POSIX
def test_save_refuses_a_device_node_and_leaves_it(tmp_path):
    node = tmp_path / "null"
    if os.geteuid() == 0:  # a real character device (a copy of /dev/null)
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    else:
        node.symlink_to("/dev/null")
    with pytest.raises(ValueError, match="character device, not a regular file"):
        pn.save(_model(), node)
    assert stat.S_ISCHR(os.stat(node).st_mode)
    assert sorted(os.listdir(tmp_path)) == ["null"]


@LINUX
def test_save_refuses_a_link_to_dev_null(tmp_path):
    link = tmp_path / "out.safetensors"
    link.symlink_to("/dev/null")
    with pytest.raises(ValueError, match="character device"):
        pn.save(_model(), link)
    assert link.is_symlink() and os.readlink(link) == "/dev/null"


@POSIX
def test_save_refuses_a_fifo(tmp_path, deadline):
    fifo = tmp_path / "m.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="FIFO"):
        pn.save(_model(), fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_save_refuses_a_directory(tmp_path):
    (tmp_path / "d.safetensors").mkdir()
    with pytest.raises(IsADirectoryError):
        pn.save(_model(), tmp_path / "d.safetensors")


# -- loading reads regular files only, and only what the header declares ---------------
@POSIX
@pytest.mark.parametrize("reader", ["load", "read_metadata", "load_state_dict"])
def test_a_fifo_is_refused_without_blocking(tmp_path, deadline, reader):
    fifo = tmp_path / "m.safetensors"
    os.mkfifo(fifo)
    function = pn.load_state_dict if reader == "load_state_dict" else getattr(pn.io, reader)
    with pytest.raises(ValueError, match="FIFO"):
        function(fifo)


@LINUX
@pytest.mark.parametrize("reader", ["load", "read_metadata", "load_state_dict"])
def test_a_link_to_dev_zero_is_refused(tmp_path, deadline, reader):
    link = tmp_path / "m.safetensors"
    link.symlink_to("/dev/zero")
    function = pn.load_state_dict if reader == "load_state_dict" else getattr(pn.io, reader)
    with pytest.raises(ValueError, match="character device"):
        function(link)


def test_the_header_is_read_before_any_data(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    entry = {"dtype": "F32", "shape": [30000, 30000], "data_offsets": [0, 3_600_000_000]}
    _raw_file(path, {"w": entry}, b"\0" * 16)
    with pytest.raises(ModelFileError, match="declares 3600000.* the file has"):
        pn.load(path)
    with pytest.raises(ModelFileError, match="declares"):
        pn.io.read_metadata(path)


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 8]}, "16 bytes of F32"),
        ({"dtype": "Q99", "shape": [2], "data_offsets": [0, 8]}, "unknown dtype"),
        ({"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}, "bad shape"),
        ({"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}, "data_offsets"),
    ],
)
def test_inconsistent_tensor_entries_are_refused(tmp_path, entry, message):
    path = tmp_path / "m.safetensors"
    _raw_file(path, {"w": entry}, b"\0" * 8)
    with pytest.raises(ModelFileError, match=message):
        pn.load(path)


_BIG_LAYER_SCRIPT = """
import json, resource, struct, sys
import plainnet as pn
from plainnet.io import ModelFileError
path = sys.argv[1]
arch = {"class": "Linear", "config": {"in_features": 12000, "out_features": 12000}}
header = json.dumps({"__metadata__": {"plainnet.format_version": "1",
                                      "plainnet.architecture": json.dumps(arch)}}).encode()
open(path, "wb").write(struct.pack("<Q", len(header)) + header)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    pn.load(path)
except ModelFileError as err:
    message = str(err)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"grew_kb": after - before, "message": message,
                  "size": len(open(path, "rb").read())}))
"""


@POSIX
def test_a_tiny_file_declaring_a_huge_layer_allocates_nothing(tmp_path):
    # a 12000x12000 float32 layer is 576 MB: built and initialized, memory would grow by that
    script = tmp_path / "big.py"
    script.write_text(_BIG_LAYER_SCRIPT)
    out = subprocess.run([sys.executable, str(script), str(tmp_path / "big.safetensors")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["size"] < 400
    assert "missing ['bias', 'weight']" in result["message"]
    assert result["grew_kb"] < 100_000, result  # far below the 576 MB a built layer takes


def test_loading_draws_no_random_weights(tmp_path):
    path = tmp_path / "m.safetensors"
    pn.save(pn.nn.Sequential(pn.nn.Linear(50, 40), pn.nn.ReLU(), pn.nn.Linear(40, 3)), path)
    pn.seed(3)
    expected = pn.random.get_rng().random()
    pn.seed(3)
    model = pn.load(path)
    assert pn.random.get_rng().random() == expected  # the global generator was not used
    assert model[0].weight.data.any()  # and the weights are the file's


def test_building_under_skip_init_leaves_parameters_untouched():
    with pn.nn.init.skip_init():
        layer = pn.nn.Linear(3, 2, init="zeros")
        layer.weight.data[...] = 7.0
        pn.nn.init.xavier_uniform_(layer.weight)
        pn.nn.init.zeros_(layer.weight)
    assert np.all(layer.weight.data == 7.0)
    assert not pn.nn.init.skipping()


# -- temp files of killed saves ----------------------------------------------------------
_KILLED_SAVE = """
import os, signal, sys
import plainnet as pn
import plainnet.io.files as files
def die(fd):  # the temp file is written; the process is killed before the rename
    os.kill(os.getpid(), signal.SIGKILL)
files.os.fsync = die
pn.save(pn.nn.Linear(300, 300), sys.argv[1])
"""


@POSIX
def test_the_next_save_removes_temp_files_of_killed_saves(tmp_path):
    target = tmp_path / "m.safetensors"
    pn.save(pn.nn.Linear(2, 2), target)
    seen = set()
    for _ in range(3):  # each killed save first removes the temp file of the one before
        out = subprocess.run([sys.executable, "-c", _KILLED_SAVE, str(target)],
                             capture_output=True, timeout=120)
        assert out.returncode == -signal.SIGKILL
        stale = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
        assert len(stale) == 1 and stale[0] not in seen
        assert os.path.getsize(tmp_path / stale[0]) > 300 * 300 * 4
        seen.add(stale[0])
    assert pn.load(target).weight.shape == (2, 2)  # the killed saves changed nothing
    alive = tmp_path / f".m.safetensors.{os.getppid()}.inprogress.tmp"  # a living process's
    alive.write_bytes(b"partial")
    other = tmp_path / ".other.safetensors.999999999.x.tmp"  # another target's
    other.write_bytes(b"x")
    pn.save(pn.nn.Linear(3, 3), target)
    assert sorted(os.listdir(tmp_path)) == sorted([target.name, alive.name, other.name])
    assert pn.load(target).weight.shape == (3, 3)


# -- silent wrong answers ----------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_are_refused_at_load(tmp_path, bad):
    path = tmp_path / "m.safetensors"
    w = np.ones((2, 2), np.float32)
    w[1, 0] = bad
    _linear_file(path, {"weight": w, "bias": np.zeros(2, np.float32)})
    with pytest.raises(ModelFileError, match="'weight'.*NaN or inf"):
        pn.load(path)
    with pytest.raises(ModelFileError, match="NaN or inf"):
        pn.load_state_dict(path)


def test_non_finite_weights_are_refused_at_save(tmp_path):
    model = pn.nn.Linear(2, 2)
    model.bias.data[0] = np.nan
    with pytest.raises(ValueError, match="'bias'.*NaN or inf"):
        pn.save(model, tmp_path / "m.safetensors")
    with pytest.raises(ValueError, match="NaN or inf"):
        pn.save(model.state_dict(), tmp_path / "w.safetensors")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("field", ["architecture", "metadata"])
def test_non_finite_metadata_is_refused(tmp_path, field):
    path = tmp_path / "m.safetensors"
    pn.save(pn.nn.Dropout(0.5), path, metadata={"threshold": 0.5})
    from safetensors import safe_open

    with safe_open(str(path), "np") as f:
        meta = f.metadata()
    key = f"plainnet.{field}"
    meta[key] = meta[key].replace("0.5", "NaN" if field == "architecture" else "Infinity")
    save_file({}, str(path), metadata=meta)
    with pytest.raises(ModelFileError, match=f"{field} metadata holds (NaN|Infinity)"):
        pn.load(path)


def test_non_finite_user_metadata_is_refused_at_save(tmp_path):
    with pytest.raises(ValueError, match="finite"):
        pn.save(pn.nn.Linear(2, 2), tmp_path / "m.safetensors", metadata={"x": float("nan")})


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_integer_weights_are_refused(tmp_path, dtype):
    path = tmp_path / "m.safetensors"
    _linear_file(path, {"weight": np.ones((2, 2), dtype), "bias": np.zeros(2, np.float32)})
    with pytest.raises(ModelFileError, match="'weight' has dtype .*floating point"):
        pn.load(path)


def test_an_integer_buffer_stays_allowed_but_a_float_counter_is_not(tmp_path):
    path = tmp_path / "m.safetensors"
    bn = pn.nn.BatchNorm1d(3)
    pn.save(bn, path)
    assert pn.load(path).num_batches_tracked.dtype == np.int64
    state = {k: np.asarray(v) for k, v in bn.state_dict().items()}
    state["running_mean"] = state["running_mean"].astype(np.int32)
    arch = {"class": "BatchNorm1d", "config": bn.get_config()}
    save_file(state, str(path), metadata={"plainnet.format_version": "1",
                                          "plainnet.architecture": json.dumps(arch)})
    with pytest.raises(ModelFileError, match="buffer 'running_mean' has dtype I32"):
        pn.load(path)


def test_300k_tensor_names_give_a_short_message(tmp_path):
    path = tmp_path / "m.safetensors"
    entries = {f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}
               for i in range(300_000)}
    arch = {"class": "Linear", "config": {"in_features": 2, "out_features": 2}}
    entries["__metadata__"] = {"plainnet.format_version": "1",
                               "plainnet.architecture": json.dumps(arch)}
    _raw_file(path, entries)
    with pytest.raises(ModelFileError) as info:
        pn.load(path)
    message = str(info.value)
    assert "unexpected" in message and "and 299995 more" in message
    assert len(message) < 600


def test_short_messages_for_many_missing_names(tmp_path):
    path = tmp_path / "m.safetensors"
    model = pn.nn.Sequential(*[pn.nn.Linear(2, 2) for _ in range(50)])
    pn.save(model, path)
    arch = pn.io.read_metadata(path)["architecture"]
    save_file({}, str(path), metadata={"plainnet.format_version": "1",
                                       "plainnet.architecture": json.dumps(arch)})
    with pytest.raises(ModelFileError, match="and 95 more") as info:
        pn.load(path)
    assert len(str(info.value)) < 600



# -- any header: a clear refusal, never another error ---------------------------------------
_ENTRY = st.fixed_dictionaries({
    "dtype": st.sampled_from(["F32", "F64", "I64", "F16", "Q8", "BF16", 3]),
    "shape": st.one_of(st.lists(st.integers(-2, 40_000), max_size=3), st.text(max_size=3)),
    "data_offsets": st.lists(st.integers(-5, 10**12), min_size=0, max_size=3),
})


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.dictionaries(st.sampled_from(["weight", "bias", "x", "0.weight"]), _ENTRY,
                               max_size=3),
       data=st.binary(max_size=64))
def test_any_tensor_header_is_refused_clearly(tmp_path, entries, data):
    path = tmp_path / "h.safetensors"
    arch = {"class": "Linear", "config": {"in_features": 2, "out_features": 2}}
    header = dict(entries)
    header["__metadata__"] = {"plainnet.format_version": "1",
                              "plainnet.architecture": json.dumps(arch)}
    _raw_file(path, header, data)
    with pytest.raises(ModelFileError):  # a ValueError; never MemoryError, KeyError, ...
        pn.load(path)


def test_temp_files_of_older_plainnets_are_removed_once_old(tmp_path):
    target = tmp_path / "m.safetensors"
    old = tmp_path / ".m.safetensors.k3j_x9qa.tmp"  # an older plainnet's mkstemp name
    fresh = tmp_path / ".m.safetensors.p2m8zz1c.tmp"
    for path in (old, fresh):
        path.write_bytes(b"partial")
    hours_ago = os.path.getmtime(old) - 2 * 3600
    os.utime(old, (hours_ago, hours_ago))
    pn.save(pn.nn.Linear(2, 2), target)
    assert not old.exists() and fresh.exists()  # a fresh one may be a save in progress
