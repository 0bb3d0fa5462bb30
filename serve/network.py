"""Where a local server may listen: this computer only, unless the person asks for more, on a free port."""

from __future__ import annotations

import errno
import socket

from core.errors import ToolError

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def check_listen_address(host: str, port: int, *, allow_remote: bool = False, option: str = "--port") -> None:
    """Refuse a host other than this computer (unless ``allow_remote``) and a port that is taken, in one sentence."""
    if host not in LOCAL_HOSTS and not allow_remote:
        raise ToolError(f"bandmate listens only on this computer (127.0.0.1) by default; pass --allow-remote to listen "
                        f"on {host}, which lets anyone who can reach it use bandmate.")
    if not 0 < port < 65536:
        raise ToolError(f"{port} is not a port number; pass {option} with a number from 1 to 65535.")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ToolError(f"Port {port} on {host} is already in use; stop the program using it or pass "
                                f"{option} with another number.") from exc
            if exc.errno == errno.EACCES:
                raise ToolError(f"This user may not listen on port {port}; pass {option} with a number above 1023.") from exc
            raise ToolError(f"Cannot listen on {host}:{port} ({exc.strerror}); check --host and {option}.") from exc

