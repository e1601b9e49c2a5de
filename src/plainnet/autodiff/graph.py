"""Drawing the recorded graph: Graphviz DOT text for a Tensor."""

from __future__ import annotations

from .engine import Tensor


def to_dot(root: Tensor) -> str:
    """The graph behind ``root`` as Graphviz DOT text (render with ``dot -Tpng``).

    Each tensor is a box labelled with its name (or ``tensor``), shape and dtype; each op is
    an ellipse; edges run from inputs to outputs.
    """
    lines = ["digraph plainnet {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    seen = set()
    stack = [root]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        name = (t.name or "tensor").replace("\\", "\\\\").replace('"', '\\"')
        label = f"{name}\\n{t.shape} {t.dtype}"
        style = ", style=filled, fillcolor=lightblue" if t.requires_grad and t._op is None else ""
        lines.append(f'  t{id(t)} [shape=box, label="{label}"{style}];')
        if t._op is not None and t._args is not None:
            lines.append(f'  op{id(t)} [shape=ellipse, label="{t._op.name}"];')
            lines.append(f"  op{id(t)} -> t{id(t)};")
            for a in t._args:
                if isinstance(a, Tensor):
                    lines.append(f"  t{id(a)} -> op{id(t)};")
                    stack.append(a)
    lines.append("}")
    return "\n".join(lines) + "\n"
