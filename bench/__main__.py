"""``python -m bench``: the one documented command (see bench/README.md)."""

from bench.run import main

raise SystemExit(main())
