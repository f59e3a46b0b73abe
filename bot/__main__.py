"""Entry point for ``python -m bot``: the staff command line."""

from bot.cli import main

raise SystemExit(main())
