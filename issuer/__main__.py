"""`python -m issuer`: the same as the `issuer` command."""

import sys

from issuer.cli import main

sys.exit(main())
