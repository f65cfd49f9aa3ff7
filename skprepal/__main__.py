"""``python -m skprepal``: the command line."""

from skprepal.cli import main

raise SystemExit(main())
