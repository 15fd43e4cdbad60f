"""What a served session runs under: resource limits, and death with its server.

Shared by the server (:mod:`tui.serve`, which sets the environment) and each session's
process (:mod:`tui.served`, which applies it before anything imports torch). Standard
library only.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

LIMITS_ENV = "GRADTUI_SERVE_LIMITS"
"""``"ADDRESS_SPACE_BYTES,CPU_SECONDS"``: the limits the server asks each session to run under."""
PARENT_ENV = "GRADTUI_SERVE_PARENT"
"""The server's process id: a session whose parent is already someone else leaves at once."""
PR_SET_PDEATHSIG = 1
"""``prctl`` option (``linux/prctl.h``): the signal this process gets when its parent dies."""


def limit_resources(spec: str | None) -> None:
    """Apply ``"AS_BYTES,CPU_SECONDS"`` as soft and hard limits, and forbid core files.

    The CPU limit's hard value is a few seconds above its soft one: at the soft limit the
    kernel sends SIGXCPU (the app dies), at the hard one SIGKILL.
    """
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if not spec:
        return
    address_space, cpu = (int(part) for part in spec.split(","))
    if address_space > 0:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    if cpu > 0:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))


def die_with_parent(parent: int | None) -> None:
    """Have the kernel send SIGTERM to this process when the server dies (Linux).

    If the server died before the request took effect, the process has been re-parented
    already: it leaves at once.
    """
    if sys.platform == "linux":
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if parent is not None and os.getppid() != parent:
        os._exit(143)
