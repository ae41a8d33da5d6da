"""``python -m mlops_testkit`` runs the command line."""

from __future__ import annotations

import sys

from mlops_testkit.cli import main

sys.exit(main())
