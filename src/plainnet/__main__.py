"""``python -m plainnet``: the same as the ``plainnet`` command."""

from .cli import main

raise SystemExit(main())
