"""Allow ``python -m fixreview``."""

from fixreview.cli.main import main

raise SystemExit(main())
