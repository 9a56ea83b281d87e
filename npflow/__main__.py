"""``python -m npflow`` is the ``npflow`` command."""
import sys

from .cli import main

sys.exit(main())
