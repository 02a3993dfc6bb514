"""Who holds a claim: ``<host>|<pid>|<start token>`` of the running process, and whether it still lives.

The start token is the boot id and the process start time (Linux ``/proc``), so a pid reused by
another process after a crash or a reboot is not mistaken for the claimer. A claim made on another
host cannot be checked from here: it waits for its lease (``mail_claim_lease_seconds``).
"""

from __future__ import annotations

import os
import socket
from functools import lru_cache
from pathlib import Path

SEPARATOR = "|"


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def start_token(pid: int) -> str | None:
    """``<boot id>:<start time in clock ticks>`` of process ``pid``; None if there is no such process.

    Without ``/proc`` (not Linux), ``"-"`` for a live process: the pid alone is checked.
    """
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        if Path("/proc/self/stat").exists():
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return "-"
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = stat.rsplit(")", 1)[1].split()
    boot = _read("/proc/sys/kernel/random/boot_id") or ""
    return f"{boot}:{fields[19]}"  # field 22 of the stat line: starttime


@lru_cache(maxsize=4)
def _identity(pid: int) -> str:
    return SEPARATOR.join((socket.gethostname(), str(pid), start_token(pid) or "-"))


def current_claimer() -> str:
    """The identity this process writes on what it claims (cached per pid: forks get their own)."""
    return _identity(os.getpid())


def is_local(claimer: str | None) -> bool:
    """True when ``claimer`` names a process of this host."""
    return bool(claimer) and claimer.split(SEPARATOR, 1)[0] == socket.gethostname()


def is_dead(claimer: str | None) -> bool:
    """True when ``claimer`` ran on this host and is gone (pid ended, or reused by another process).

    False when it lives, when it ran on another host, or when nothing was recorded.
    """
    if not claimer:
        return False
    parts = claimer.split(SEPARATOR)
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    token = start_token(int(parts[1]))
    return token is None or (parts[2] != "-" and token != "-" and token != parts[2])
