#!/usr/bin/env python3
"""Build the synthetic sample city in data/sample/: ``python3 data/sample/build.py --help``.

The builder itself is the package ``builder/`` beside this file (``python3 -m builder`` from
``data/sample`` does the same); see its ``__init__`` for the modules.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from builder.__main__ import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
