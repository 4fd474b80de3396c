"""``python -m focuspull``: the worker entry point host plugins start."""

import sys

from focuspull.cli import main

sys.exit(main())
