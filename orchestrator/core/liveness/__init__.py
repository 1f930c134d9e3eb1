"""Liveness: which speakers are live (``leases``, one lease per node) and which controller
replica leads (``leader``, one Lease for all), both judged on the observer's own clock."""
