"""``python3 -m bgplab.bench.soak`` (what scripts/soak runs)."""

import sys

from bgplab.bench.soak.cli import main

sys.exit(main())
