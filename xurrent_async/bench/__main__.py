"""`python -m xurrent_async.bench`: see cli.py."""

import sys

from .cli import main

sys.exit(main())
