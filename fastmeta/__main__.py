"""`python -m fastmeta ...` is the `fastmeta` command (torchrun starts ranks this way)."""

import sys

from fastmeta.cli import main

sys.exit(main())
