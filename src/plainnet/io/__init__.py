"""Model files: ``pn.save(model, path)`` and ``pn.load(path)``.

Models are stored as safetensors (weights under their ``state_dict`` names) with the
architecture as JSON in the file's metadata. Loading never unpickles and never runs code from
the file; saves are atomic.
"""

from .files import atomic_write_bytes
from .format import ModelFileError
from .models import (
    FORMAT_VERSION,
    load,
    load_state_dict,
    load_with_metadata,
    read_metadata,
    save,
    save_state_dict,
)

__all__ = [
    "FORMAT_VERSION",
    "ModelFileError",
    "atomic_write_bytes",
    "load",
    "load_state_dict",
    "load_with_metadata",
    "read_metadata",
    "save",
    "save_state_dict",
]


def __dir__():  # what tab completion and dir() show: the public names
    return sorted(__all__)
