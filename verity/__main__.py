"""`python -m verity` runs the CLI."""

from verity.cli import main

raise SystemExit(main())
