"""Importing libraries without the optional extras a server process never uses.

Some libraries import an optional package whenever it is installed and keep it for a feature
the server does not use. Each such package costs every server process memory (measured in the
commits that hide them), and the server runs several processes. `import_without` imports such
a library as though the package were absent; the package stays importable by whoever needs it
afterwards, and one already imported (a test run's, say) is left to the library.
"""

from __future__ import annotations

import importlib
import sys


def import_without(module: str, absent: tuple[str, ...]) -> None:
    hidden = [name for name in absent if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # `import name` raises ImportError
    try:
        importlib.import_module(module)
    finally:
        for name in hidden:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]
