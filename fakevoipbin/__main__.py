"""``python -m fakevoipbin`` is the same command-line tool as ``fakevoipbin``."""

from .cli import main

raise SystemExit(main())
