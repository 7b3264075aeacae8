"""bgplab: a Python BGP soft router (BIRD 1.x drop-in) and a Calico BGP lab."""

__version__ = "0.1.0"
