"""``python -m kling_gateway.cli``: the ``kling-gateway`` command."""

import sys

from kling_gateway.cli import main

sys.exit(main())
