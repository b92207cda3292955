"""``python -m tests.winsim``: see ``tests/winsim/cli.py``."""

import sys

from .cli import main

sys.exit(main())
