"""Scheduling priority for the announcer process: answers keep their tail while the node is busy.

Why: the announcer has its own process (``process.py``), so the speaker's parsing and garbage
collection no longer hold its GIL. But with both CPUs busy with other work (a build, a
noisy pod), the kernel's fair scheduler still makes a woken announcer wait for its turn:
ARP answers had p99 3.4 ms and a worst case of 8.6 ms (``make bench-l2-heap``, row "2 CPUs
busy"). Under ``SCHED_RR`` a woken announcer preempts every normal task at once; its p99
fell to 77 µs on the same bench.

Modes, asked for with ``--announcer-priority``:

- ``rt``: ``SCHED_RR`` at ``RT_PRIORITY``. Low on purpose: above every normal task, below
  the kernel's own threads (which run at 50 and more) and below anything an operator already
  runs real-time. Round-robin rather than FIFO, so that two announcers (a restart overlap)
  share a CPU instead of one starving the other. The announcer sleeps in ``select`` between
  frames and does microseconds of work per frame, so it cannot starve a CPU; the kernel's
  real-time throttling (``sched_rt_runtime_us``) is the backstop if it ever spun.
- ``nice``: a nice value of ``NICE`` under the normal scheduler: weaker, but needs no
  real-time budget (some cgroup set-ups give containers none).
- ``none``: leave the scheduler alone.

Both raised modes need ``CAP_SYS_NICE``, which the chart grants the speaker container. Without
it the call fails with ``EPERM``; ``raise_priority`` then tries the next weaker mode, logs
what it got and why, and the announcer runs anyway: a lower priority costs tail latency,
never an answer.
"""

from __future__ import annotations

import logging
import os
from enum import StrEnum

log = logging.getLogger(__name__)

#: The real-time priority of ``rt`` (1..99; see the module docstring for why it is low).
RT_PRIORITY = 10
#: The nice value of ``nice``.
NICE = -10


class Priority(StrEnum):
    RT = "rt"
    NICE = "nice"
    NONE = "none"


MODES = tuple(mode.value for mode in Priority)


def _set_rt() -> None:
    os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(RT_PRIORITY))


def _set_nice() -> None:
    os.setpriority(os.PRIO_PROCESS, 0, NICE)


def raise_priority(wanted: Priority) -> Priority:
    """Give this process ``wanted`` or the strongest weaker mode allowed; return what it got."""
    order = list(Priority)[list(Priority).index(wanted) :]
    for mode in order:
        if mode is Priority.NONE:
            break
        try:
            _set_rt() if mode is Priority.RT else _set_nice()
        except OSError as e:
            log.warning(
                "event=announcerPriority wanted=%s refused=%s reason=%s",
                wanted.value,
                mode.value,
                e.strerror or type(e).__name__,
            )
            continue
        log.info("event=announcerPriority priority=%s", mode.value)
        return mode
    return Priority.NONE


def current(pid: int = 0) -> Priority:
    """The mode a process runs in now, read back from the kernel."""
    if os.sched_getscheduler(pid) in (os.SCHED_RR, os.SCHED_FIFO):
        return Priority.RT
    if os.getpriority(os.PRIO_PROCESS, pid) < 0:
        return Priority.NICE
    return Priority.NONE
