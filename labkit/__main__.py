"""``python -m labkit``: see :mod:`labkit.cli`."""

from labkit.cli import main

raise SystemExit(main())
