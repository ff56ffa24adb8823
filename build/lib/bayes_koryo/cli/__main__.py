"""``python -m bayes_koryo.cli``: the command line."""

import sys

from bayes_koryo.cli import main

sys.exit(main())
