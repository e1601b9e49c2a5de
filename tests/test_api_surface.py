"""The surface a user touches: every public namespace lists its API in ``__all__``, shows only
that in ``dir()`` (no ``np``, ``annotations``, kernels or op constants), documents every
public function and class, and appears in the API reference (``docs/api/*.md``)."""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NAMESPACES = [
    "plainnet", "plainnet.autodiff", "plainnet.nn", "plainnet.nn.functional",
    "plainnet.nn.init", "plainnet.losses", "plainnet.optim", "plainnet.optim.lr_scheduler",
    "plainnet.optimize", "plainnet.callbacks", "plainnet.training", "plainnet.data",
    "plainnet.datasets", "plainnet.io", "plainnet.onnx", "plainnet.diagnostics",
    "plainnet.estimators", "plainnet.plot", "plainnet.backend", "plainnet.random",
    "plainnet.functions",
]
# Subpackages reached as attributes (pn.nn, pn.optim.lr_scheduler) without being in __all__.
SUBMODULES = {"plainnet": {"backend", "callbacks", "cli", "data", "datasets", "diagnostics",
                           "estimators", "functions", "io", "losses", "nn", "onnx", "optim",
                           "optimize", "plot", "random", "training"}}
LEAKS = {"annotations", "importlib", "np", "numpy", "kernels", "math", "numbers", "warnings",
         "threading", "contextlib", "Callable", "ElementwiseKernel", "LINEAR_RELU", "apply"}


def _module(name: str) -> types.ModuleType:
    return importlib.import_module(name)


def _public(name: str) -> list[tuple[str, object]]:
    module = _module(name)
    return [(attr, getattr(module, attr)) for attr in module.__all__]


@pytest.mark.parametrize("name", NAMESPACES)
def test_all_lists_names_that_resolve(name):
    module = _module(name)
    names = getattr(module, "__all__", None)
    assert isinstance(names, list | tuple), f"{name} has no __all__"
    assert all(isinstance(n, str) for n in names)
    assert len(set(names)) == len(names), f"{name}.__all__ repeats a name"
    missing = [n for n in names if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it lacks: {missing}"
    private = [n for n in names if n.startswith("_") and n != "__version__"]
    assert not private, f"{name}.__all__ lists private names: {private}"


@pytest.mark.parametrize("name", NAMESPACES)
def test_dir_shows_only_the_public_names(name):
    module = _module(name)
    shown = {n for n in dir(module) if not n.startswith("_")}
    extra = shown - set(module.__all__) - SUBMODULES.get(name, set())
    assert not extra, f"dir({name}) shows names outside its __all__: {sorted(extra)}"
    leaks = (shown & LEAKS) - set(module.__all__)
    assert not leaks, f"dir({name}) shows imports: {sorted(leaks)}"


def test_top_level_dir_lists_the_lazy_names_without_importing_them():
    code = ("import sys, plainnet as pn; names = dir(pn); "
            "assert {'fit', 'save', 'load', 'nn', 'optim', 'estimators'} <= set(names), names; "
            "assert 'annotations' not in names and 'importlib' not in names; "
            "heavy = [m for m in ('matplotlib', 'sklearn', 'pandas', 'onnx', 'cupy', "
            "'plainnet.training', 'plainnet.estimators') if m in sys.modules]; "
            "assert not heavy, heavy")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_hidden_internals_still_import():
    # Other modules import these; hiding them from dir() must not remove them.
    import plainnet as pn
    from plainnet.backend import CPU, match_device  # noqa: F401
    from plainnet.losses import REDUCTIONS, weights_promised_positive  # noqa: F401
    from plainnet.nn.functional import BATCH_NORM, LINEAR, batch_norm_train  # noqa: F401
    from plainnet.nn.init import skip_init, skipping  # noqa: F401

    assert pn.kernels.ElementwiseKernel is not None and pn.callbacks.Diagnostics is not None


def _documented(obj) -> bool:
    doc = obj.__doc__ if inspect.isclass(obj) or inspect.isroutine(obj) else type(obj).__doc__
    return bool(doc and doc.strip())


@pytest.mark.parametrize("name", NAMESPACES)
def test_every_public_function_and_class_has_a_docstring(name):
    undocumented = [
        attr for attr, obj in _public(name)
        if (inspect.isclass(obj) or inspect.isroutine(obj) or callable(obj))
        and not isinstance(obj, types.ModuleType) and not _documented(obj)
    ]
    assert not undocumented, f"{name}: no docstring for {undocumented}"


# --------------------------------------------------------------------------- API reference
def _reference_targets() -> set[str]:
    targets = set()
    for page in (ROOT / "docs" / "api").glob("*.md"):
        targets |= set(re.findall(r"^:::\s*([\w.]+)\s*$", page.read_text("utf-8"), re.M))
    return targets


def test_reference_targets_are_found():
    targets = _reference_targets()
    assert {"plainnet.nn", "plainnet.nn.functional", "plainnet.losses"} <= targets


@pytest.mark.parametrize("name", [n for n in NAMESPACES if n != "plainnet"])
def test_every_namespace_has_a_reference_directive(name):
    targets = _reference_targets()
    assert any(t == name or t.startswith(name + ".") for t in targets), (
        f"no '::: {name}' in docs/api/*.md")


def _in_reference(attr: str, obj, targets: set[str]) -> bool:
    for target in targets:  # rendered with a namespace that lists it in __all__ ...
        module = sys.modules.get(target)
        if module is not None and attr in getattr(module, "__all__", ()) and (
            getattr(module, attr, None) is obj
        ):
            return True
    home = getattr(obj, "__module__", None) or ""
    qual = f"{home}.{getattr(obj, '__qualname__', attr)}"
    # ... or by its own module, or by its own name
    return any(home == t or home.startswith(t + ".") or qual == t for t in targets)


@pytest.mark.parametrize("name", NAMESPACES)
def test_every_public_function_and_class_is_in_the_reference(name):
    targets = _reference_targets()
    for target in targets:
        try:
            importlib.import_module(target)
        except ImportError:  # a class or function path: its module is enough
            importlib.import_module(target.rsplit(".", 1)[0])
    missing = [
        attr for attr, obj in _public(name)
        if (inspect.isclass(obj) or inspect.isfunction(obj))
        and not _in_reference(attr, obj, targets)
    ]
    assert not missing, f"{name}: not in the API reference: {missing}"


def test_functional_lists_every_public_function_it_gathers():
    # nn.functional re-exports the layers' functional forms from several modules; each one
    # must be in its __all__ (and so in dir() and the API reference), not only imported.
    import plainnet.nn.functional as F

    sources = ("plainnet.nn.functional_api", "plainnet.nn.functional_conv",
               "plainnet.nn.sequence_ops", "plainnet.nn.generation")
    gathered = {name for name, obj in vars(F).items()
                if inspect.isfunction(obj) and not name.startswith("_")
                and obj.__module__ in sources}
    assert gathered, "nothing gathered: the source modules moved?"
    assert gathered <= set(F.__all__), sorted(gathered - set(F.__all__))


@pytest.mark.parametrize("name", NAMESPACES)
def test_star_import_gives_exactly_all(name):
    namespace: dict = {}
    exec(f"from {name} import *", namespace)
    namespace.pop("__builtins__", None)
    assert set(namespace) == set(_module(name).__all__)
