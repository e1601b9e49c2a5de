"""Neural networks: modules, layers, initializers."""

from .module import MODULES, Module, Parameter, module_from_spec, module_to_spec

__all__ = ["MODULES", "Module", "Parameter", "module_from_spec", "module_to_spec"]
