"""``python -m optimal_confidence``: the command line of
:mod:`optimal_confidence.cli`."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m optimal_confidence"))
