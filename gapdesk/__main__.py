"""``python -m gapdesk``: the same as the ``gapdesk`` command."""

from gapdesk.cli import main

raise SystemExit(main())
