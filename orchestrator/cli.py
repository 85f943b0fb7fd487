"""The `orchestrator` command: Django's management commands with the server's own first.

orchestrator server start
orchestrator config view --show-sources
orchestrator migrate            (any Django command works too)
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None, prog: str = "orchestrator") -> None:
    argv = list(sys.argv if argv is None else argv)
    argv[0] = prog
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.base")
    from orchestrator.config import ConfigurationError

    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(argv)
    except ConfigurationError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
