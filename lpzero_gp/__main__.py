"""``python -m lpzero_gp`` is the ``lpzero-gp`` command."""

import sys

from lpzero_gp.cli import main

sys.exit(main())

__all__ = []
