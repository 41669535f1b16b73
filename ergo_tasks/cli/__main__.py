"""``python -m ergo_tasks.cli``: the same as the ``ergo`` command."""

import sys

from . import main

sys.exit(main())
