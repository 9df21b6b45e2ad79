"""What Linux offers to keep a command away from the agent process: a non-dumpable agent, and namespaces.

Two layers, each measured as root and as an unprivileged user (see docs/tool-safety.md):

- `protect_process()` marks this process non-dumpable (`prctl(PR_SET_DUMPABLE, 0)`): its `/proc/<pid>/environ`,
  `mem`, `maps`... become root-owned and `ptrace` needs `CAP_SYS_PTRACE`, so a process of the same
  unprivileged user can no longer read its environment or memory. It also turns off core dumps of this
  process and attaching a debugger or profiler (gdb, py-spy) without root. Root still reads such files.
- `namespace_prefix()` is the util-linux `unshare` command line that runs a program in a fresh user, PID and
  mount namespace with its own `/proc`: the program is PID 1 of its namespace, sees no process outside it,
  and holds no capability. Root's commands are mapped to an unprivileged user inside (outside they still
  own root's files), so they cannot unmount that `/proc` to see the real one. When PID 1 ends, the kernel
  kills every process left in the namespace, including those that left the process group.
"""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
import subprocess
import sys

__all__ = ["namespace_prefix", "protect_process"]

_PR_SET_DUMPABLE = 4
_UNSHARE_PATHS = ("/usr/bin/unshare", "/bin/unshare")
_NOBODY = 65534


def protect_process() -> bool:
    """Make this process non-dumpable; `False` where that is not possible (not Linux, or prctl failed)."""
    if not sys.platform.startswith("linux"):  # pragma: no cover - the tests run on Linux
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return int(libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)) == 0


@functools.cache
def namespace_prefix() -> tuple[str, ...] | None:
    """The `unshare` words to put before a command's argv, or `None` where `unshare` is missing or the
    kernel refuses the namespaces (tried once per process)."""
    program = next((path for path in _UNSHARE_PATHS if os.access(path, os.X_OK)), None) or shutil.which(
        "unshare", path=os.defpath
    )
    if program is None:
        return None
    return _working(
        (program, *_mapping(os.geteuid()), "--pid", "--fork", "--mount-proc", "--kill-child", "--")
    )


def _mapping(euid: int) -> tuple[str, ...]:
    """Root becomes an unprivileged user inside (no capability, so it cannot unmount the new `/proc`); another
    user stays itself (the only mapping it may write), which also holds no capability after `exec`."""
    if euid == 0:
        return (f"--map-user={_NOBODY}", f"--map-group={_NOBODY}")
    return ("--map-current-user",)


def _working(prefix: tuple[str, ...]) -> tuple[str, ...] | None:
    try:
        probe = subprocess.run(
            [*prefix, "true"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return prefix if probe.returncode == 0 else None
