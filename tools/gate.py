#!/usr/bin/env python3
"""wsgate gate: the release gate.  `wsgate gate ARGS` runs this file.
Exit 0 SHIP, 1 NO-SHIP, 2 usage or infrastructure error."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from wsgate_tools.gate_main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.path.dirname(os.path.realpath(__file__))))
