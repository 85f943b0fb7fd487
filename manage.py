#!/usr/bin/env python
"""Django's command-line entry; `orchestrator` (the console script) runs the same commands."""

import sys

from orchestrator.cli import main

if __name__ == "__main__":
    main(sys.argv, prog="manage.py")
