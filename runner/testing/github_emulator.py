"""`python -m runner.testing.github_emulator`: the GitHub emulator's command line, by its first name.

The emulator lives in `runner.testing.emulator`; this path stays because scripts and CI
configurations start it by this name.
"""

from __future__ import annotations

import sys

from runner.testing.emulator import Emulator, EmulatorConfig, main

__all__ = ["Emulator", "EmulatorConfig", "main"]

if __name__ == "__main__":
    sys.exit(main())
