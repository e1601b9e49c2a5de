"""Which module classes a model file may name, and how a module states its constructor.

A model file stores an architecture as JSON: ``{"class": name, "config": {...}}`` per module
(custom classes add ``"module"``, the Python module that defined them). Rebuilding it calls
the class named there, so `build()` accepts only classes the reader trusts:

* plainnet's own public layers,
* classes registered with `register()` (``@pn.nn.register``),
* classes the caller passes, ``pn.load(path, classes=[Net])``,
* with ``trust_classes=True`` (or a list of module prefixes), a class imported by its dotted
  path. Nothing is imported from a name in a file unless the caller allows it.

(Called from code outside `allow_classes()`, as ``module_from_spec(spec)``, it also
finds the public Module classes already defined in the process.)

A module's constructor arguments come from its ``get_config()`` when it defines one, else
from the arguments it was constructed with (recorded by ``Module.__new__``), when they are
JSON-able or modules (written as their own specs). `config_of()` refuses anything else,
with the two ways out.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import inspect
import json
from collections.abc import Iterable

import numpy as np

REGISTERED: dict[str, type] = {}
"""Classes registered with `register()`, by ``"module.QualName"`` and by class name."""

_ALLOWED: contextvars.ContextVar = contextvars.ContextVar("plainnet_allowed", default=None)


class ConfigError(TypeError):
    """A module whose constructor arguments cannot be written as JSON."""


def register(cls: type) -> type:
    """Class decorator: let model files name ``cls`` (``pn.load`` rebuilds it).

    >>> import plainnet as pn
    >>> @pn.nn.register
    ... class Scale(pn.nn.Module):
    ...     def __init__(self, factor: float = 2.0):
    ...         super().__init__()
    ...         self.factor = factor
    ...     def forward(self, x):
    ...         return x * self.factor
    """
    from .module import Module

    if not (isinstance(cls, type) and issubclass(cls, Module)):
        raise TypeError(f"register expects a subclass of pn.nn.Module; got {cls!r}")
    REGISTERED[f"{cls.__module__}.{cls.__qualname__}"] = cls
    REGISTERED[cls.__name__] = cls
    return cls


@contextlib.contextmanager
def allow_classes(classes: Iterable[type] = (), trust_classes: bool | Iterable[str] = False):
    """Context in which `build()` also accepts ``classes`` and, with ``trust_classes``,
    imports classes by dotted path (``True``: any; a list: paths or module prefixes)."""
    given = check_classes(classes)
    if isinstance(trust_classes, str):
        trust_classes = [trust_classes]
    trust = trust_classes if isinstance(trust_classes, bool) else tuple(trust_classes)
    token = _ALLOWED.set((given, trust))
    try:
        yield
    finally:
        _ALLOWED.reset(token)


def check_classes(classes: Iterable[type]) -> list[type]:
    """``classes`` as a list, or a ``TypeError`` for anything not a Module subclass."""
    from .module import Module

    given = list(classes or ())
    for cls in given:
        if not (isinstance(cls, type) and issubclass(cls, Module)):
            raise TypeError(f"classes must be pn.nn.Module subclasses; got {cls!r}")
    return given


def is_builtin(cls: type) -> bool:
    """Whether ``cls`` is one of plainnet's own public module classes."""
    return cls.__module__.startswith("plainnet.") and not cls.__name__.startswith("_")


def builtin_classes() -> dict[str, type]:
    """plainnet's public module classes by name."""
    from .module import MODULES

    return {name: cls for name, cls in MODULES.items() if is_builtin(cls)}


def resolve(spec: dict) -> type:
    """The class ``spec`` names, if the reader trusts it; else a ``ValueError`` with the ways
    to allow it."""
    name, module = spec.get("class"), spec.get("module")
    if not isinstance(name, str) or not (module is None or isinstance(module, str)):
        raise ValueError(f"a module spec names its class as text; got {str(spec)[:80]}")
    if module is None or module.startswith("plainnet."):
        cls = builtin_classes().get(name)
        if cls is not None:
            return cls
    qualname = spec.get("qualname", name)
    key = f"{module}.{qualname}" if module else qualname
    if key in REGISTERED:
        return REGISTERED[key]
    given, trust = _ALLOWED.get() or ((), False)
    by_name = [c for c in given if c.__name__ == name]
    exact = [c for c in by_name if c.__module__ == module]
    if exact or by_name:
        return (exact or by_name)[0]
    if name in REGISTERED:
        return REGISTERED[name]
    if module and _trusted(key, trust):
        return _import(module, qualname, key)
    if _ALLOWED.get() is None:  # called from code, not reading a file: classes defined here
        cls = _defined(name, module)
        if cls is not None:
            return cls
    raise ValueError(_unknown_message(name, key))


def _defined(name: str, module: str | None):
    from .module import MODULES

    cls = MODULES.get(name)
    if cls is None or name.startswith("_") or (module and cls.__module__ != module):
        return None
    return cls


def build(spec: dict):
    """The module ``spec`` describes (`spec_of()`), freshly constructed."""
    if not isinstance(spec, dict) or "class" not in spec:
        raise ValueError(f"a module spec is a dict with 'class' and 'config'; got {spec!r:.80}")
    cls = resolve(spec)
    config = spec.get("config", {})
    if not isinstance(config, dict):
        raise ValueError(f"the config of {spec['class']!r} must be an object; got {config!r:.80}")
    if "args" in spec:  # recorded arguments: modules among them rebuilt from their specs
        args = spec["args"]
        if not isinstance(args, list):
            raise ValueError(f"the args of {spec['class']!r} must be a list; got {args!r:.80}")
        return cls(*_modules_in(args), **_modules_in(config))
    if "module" in spec and not _defines(cls, "from_config", _module_class()) and not _defines(
        cls, "get_config", _module_class()
    ):
        return cls(**_modules_in(config))
    return cls.from_config(config)


def _module_class():
    from .module import Module

    return Module


def _modules_in(value):
    """``value`` with every ``{"__module_spec__": spec}`` built into its module."""
    if isinstance(value, dict):
        if set(value) == {_SPEC}:
            return build(value[_SPEC])
        return {k: _modules_in(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_modules_in(v) for v in value]
    return value


def spec_of(module) -> dict:
    """``{"class", "config"}`` (plus ``"module"`` and maybe ``"qualname"``/``"args"`` for a
    custom class): what `build()` rebuilds ``module`` from."""
    cls = type(module)
    spec: dict = {"class": cls.__name__}
    if not is_builtin(cls):
        spec["module"] = cls.__module__
        if cls.__qualname__ != cls.__name__:
            spec["qualname"] = cls.__qualname__
    args, config = config_of(module)
    if args:
        spec["args"] = args
    spec["config"] = config
    return spec


def config_of(module) -> tuple[list, dict]:
    """``(positional args, keyword config)`` that rebuild ``module``: its ``get_config()``
    when its class defines one, else the JSON-able arguments it was constructed with."""
    from .module import Module

    cls = type(module)
    if _defines(cls, "get_config", Module) or _defines(cls, "from_config", Module):
        config = module.get_config()
        _check_json(cls, config, "its get_config() returned a value that is not JSON")
        return [], config
    args, kwargs = module.__dict__.get("_init_args", ((), {}))
    if not args and not kwargs:
        return [], {}
    try:
        bound = inspect.signature(cls).bind(*args, **kwargs)
    except (TypeError, ValueError):
        return _checked(cls, list(args), dict(kwargs))
    kinds = {n: p.kind for n, p in bound.signature.parameters.items()}
    if any(kinds[n] is inspect.Parameter.VAR_POSITIONAL for n in bound.arguments):
        return _checked(cls, list(args), dict(kwargs))  # cls(*args, **kwargs) as called
    config = {}
    for name, value in bound.arguments.items():
        if kinds[name] is inspect.Parameter.VAR_KEYWORD:
            config.update(value)
        else:
            config[name] = value
    return _checked(cls, [], config)


_SPEC = "__module_spec__"
"""How a module passed to a constructor is written: ``{"__module_spec__": spec}``."""


def _plain(value):
    """``value`` with NumPy dtypes, scalar types and scalars as JSON values (``np.float64``
    -> ``"float64"``), which constructors take back, and modules as their specs."""
    from .module import Module

    if isinstance(value, Module):
        return {_SPEC: spec_of(value)}
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, type) and issubclass(value, np.generic):
        return np.dtype(value).name
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _checked(cls, args: list, config: dict) -> tuple[list, dict]:
    args, config = _plain(args), _plain(config)
    _check_json(cls, {"args": args, "config": config},
                "it was constructed with arguments that are not JSON (numbers, text, lists, "
                "dicts) or modules")
    return json.loads(json.dumps(args)), json.loads(json.dumps(config))


def _check_json(cls, value, reason: str) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ConfigError(refusal(cls, f"{reason} ({err})")) from None


def refusal(cls, reason: str) -> str:
    """The message of a refused save, with the two ways out."""
    name = cls.__name__
    return (
        f"cannot save {name}: plainnet rebuilds a model from its constructor arguments, and "
        f"{reason}. Either give {name} a get_config() that returns its constructor arguments "
        "as JSON (and a from_config classmethod if they are not keyword arguments), or save "
        "the weights only with pn.save(model.state_dict(), path) and rebuild the model in "
        "code: model.load_state_dict(pn.load_state_dict(path))"
    )


def _defines(cls: type, attr: str, base: type) -> bool:
    for klass in cls.__mro__:
        if klass is base:
            return False
        if attr in klass.__dict__:
            return True
    return False


def _trusted(key: str, trust) -> bool:
    if trust is True:
        return True
    if not trust:
        return False
    return any(key == t or key.startswith(t.rstrip(".") + ".") for t in trust)


def _import(module: str, qualname: str, key: str) -> type:
    from .module import Module

    if module == "__main__" or "<locals>" in qualname:
        raise ValueError(
            f"class {key!r} cannot be imported (it was defined in a script or a function): "
            "pass it with classes=[...]"
        )
    try:
        obj = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"cannot import module class {key!r}: {err}") from None
    if not (isinstance(obj, type) and issubclass(obj, Module)):
        raise ValueError(f"{key!r} is not a pn.nn.Module subclass")
    return obj


def _unknown_message(name: str, key: str) -> str:
    shown = ", ".join(sorted(builtin_classes()))
    return (
        f"unknown module class {name!r} ({key}). plainnet builds only the classes the reader "
        f"allows and imports nothing named in a file by default: pass the class, "
        f"pn.load(path, classes=[{name}]), register it with @pn.nn.register, or allow "
        f"importing it with trust_classes=[{key!r}]. plainnet's own layers: {shown}"
    )
