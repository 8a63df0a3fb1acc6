"""``python -m ganrepro.docgen docs/reference``."""

import sys

from . import main

sys.exit(main())
