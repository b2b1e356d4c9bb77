"""``python -m jupyter_hpo``: the terminal commands (see :mod:`jupyter_hpo.cli`)."""

import sys

from .cli import main

sys.exit(main())
