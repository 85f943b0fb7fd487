"""CPU and memory of a process tree during a scenario, from Linux's /proc.

A server is measured as the process it was started as plus all its descendants (Prefect's
`prefect server start` runs uvicorn in a child; a multi-process server forks workers), so the
figures hold whatever the process layout.

- CPU seconds: the change in user+system time (children reaped meanwhile included) of the tree.
- Peak RSS: the tree's summed VmRSS sampled every 0.2 s, and the sum of each process's VmHWM
  (its own peak), which also catches spikes between samples. VmHWM is reset at the start of
  each scenario by writing 5 to /proc/PID/clear_refs (allowed for the same user or root), so it
  is the peak during the scenario; when the kernel refuses, it is the peak since the process
  started, and `hwm_scope` says so.
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (which may hold spaces)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read().decode(errors="replace")
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def process_tree(root: int) -> list[int]:
    """root and its live descendants."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields and len(fields) > 1:
                children[int(fields[1])].append(int(entry))
    tree, stack = [], [root]
    while stack:
        pid = stack.pop()
        tree.append(pid)
        stack.extend(children.get(pid, []))
    return tree


def cpu_ticks(pid: int) -> int:
    fields = _stat_fields(pid)
    if not fields:
        return 0
    # utime, stime, cutime, cstime are fields 14-17 of stat; 11-14 after the name.
    return sum(int(x) for x in fields[11:15])


def status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def parent_of(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def host_busy_ticks() -> int:
    """The whole machine's non-idle CPU ticks (to see what else ran during a phase)."""
    with open("/proc/stat") as f:
        values = [int(x) for x in f.readline().split()[1:]]
    return sum(values) - values[3] - values[4]


class TreeMonitor:
    """Measures one process tree between start() and stop()."""

    def __init__(self, root: int | None, interval: float = 0.2):
        self.root = root
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.hwm_scope = "process lifetime"

    def _rss_kb(self) -> int:
        return sum(status_kb(pid, "VmRSS") for pid in process_tree(self.root))

    def _cpu(self) -> int:
        return sum(cpu_ticks(pid) for pid in process_tree(self.root))

    def start(self) -> TreeMonitor:
        if not self.root or not os.path.exists(f"/proc/{self.root}"):
            self.root = None
            return self
        try:
            for pid in process_tree(self.root):
                with open(f"/proc/{pid}/clear_refs", "w") as f:
                    f.write("5")
            self.hwm_scope = "scenario"
        except OSError:
            pass
        self._started = time.perf_counter()
        self._cpu0 = self._cpu()
        self._peak_kb = self._rss_kb()

        def sample() -> None:
            while not self._stop.wait(self.interval):
                self._peak_kb = max(self._peak_kb, self._rss_kb())

        self._thread = threading.Thread(target=sample, name="bench-monitor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> dict[str, Any] | None:
        if not self.root:
            return None
        self._stop.set()
        if self._thread:
            self._thread.join()
        seconds = time.perf_counter() - self._started
        cpu = (self._cpu() - self._cpu0) / CLOCK_TICKS
        tree = process_tree(self.root)
        self._peak_kb = max(self._peak_kb, self._rss_kb())
        return {
            "processes": len(tree),
            "cpu_s": round(cpu, 2),
            "cpu_cores": round(cpu / seconds, 3) if seconds else None,
            "rss_peak_sampled_mb": round(self._peak_kb / 1024, 1),
            "hwm_sum_mb": round(sum(status_kb(pid, "VmHWM") for pid in tree) / 1024, 1),
            "hwm_scope": self.hwm_scope,
            # The headline: the larger of the two views of the tree's peak.
            "rss_peak_mb": round(max(self._peak_kb, sum(status_kb(pid, "VmHWM") for pid in tree)) / 1024, 1),
        }


class Phase:
    """The measured part of a scenario: wall time, the server tree, the database tree (the
    postmaster, when PostgreSQL runs here), the whole host and the benchmark's own CPU."""

    def __init__(self, server_pid: int | None, db_pid: int | None):
        self.server = TreeMonitor(server_pid)
        self.db = TreeMonitor(db_pid)
        self.started = False
        self.result: dict[str, Any] = {}

    def start(self) -> Phase:
        self.server.start()
        self.db.start()
        self._host0 = host_busy_ticks()
        self._own0 = os.times()
        self._t0 = time.perf_counter()
        self.started = True
        return self

    def stop(self) -> dict[str, Any]:
        self.seconds = time.perf_counter() - self._t0
        own = os.times()
        self.result = {
            "server_usage": self.server.stop(),
            "db_usage": self.db.stop(),
            "host_busy_cores": round((host_busy_ticks() - self._host0) / CLOCK_TICKS / self.seconds, 3),
            "client_cpu_s": round(own.user + own.system - self._own0.user - self._own0.system, 2),
        }
        return self.result

    def __enter__(self) -> Phase:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
