"""Optimization of any differentiable function: gradient descent, minimize(), closed forms."""

from . import rules

__all__ = ["rules"]
