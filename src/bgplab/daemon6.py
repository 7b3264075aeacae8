"""``bgplabd6`` (``python -m bgplab.daemon6``): the IPv6 daemon, a drop-in
for BIRD 1.6's ``bird6`` (see :func:`bgplab.daemon.main6`)."""

from __future__ import annotations

import sys

from bgplab.daemon import main6

if __name__ == "__main__":
    sys.exit(main6())
