"""Where a server may listen: this computer unless asked, never on a taken port."""

from __future__ import annotations

import socket

import pytest

from core.errors import ToolError
from serve.network import check_listen_address


def test_a_taken_port_is_one_sentence():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ToolError, match=rf"^Port {port} on 127.0.0.1 is already in use; stop the program using it "
                                            r"or pass --port with another number\.$"):
            check_listen_address("127.0.0.1", port)


def test_other_interfaces_need_asking_for():
    with pytest.raises(ToolError, match="pass --allow-remote to listen on 0.0.0.0"):
        check_listen_address("0.0.0.0", 7860)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    check_listen_address("0.0.0.0", free, allow_remote=True)
    check_listen_address("localhost", free)


def test_a_port_out_of_range_is_one_sentence():
    with pytest.raises(ToolError, match="^70000 is not a port number; pass --port with a number from 1 to 65535.$"):
        check_listen_address("127.0.0.1", 70000)
