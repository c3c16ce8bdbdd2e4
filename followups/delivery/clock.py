"""One clock for the sweep: the database's (``core.clock``).

Leases and "is it due" are compared across every worker; each worker's own
clock can be minutes off (a VM resumed, NTP down). Reading the time from the
database server that holds the rows means a worker with a wrong clock can
neither steal another's claim (its leases would already be over) nor strand
rows (its leases would run for too long), nor mark every check-in missed,
nor hold an urgent alert back. ``/readyz`` names a process whose own clock
is off (``health.clock``).
"""

from __future__ import annotations

from core.clock import database_now

__all__ = ["database_now"]
