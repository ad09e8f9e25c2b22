"""HOST:PORT strings as Toxiproxy's `listen` and `upstream` fields carry them."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class Address:
    """A TCP endpoint; `str()` gives the HOST:PORT form the API shows."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


class AddressError(ValueError):
    """A string that is not HOST:PORT; the message names the field and says what is allowed."""


_PORT = re.compile(r"[0-9]{1,5}")  # ASCII digits only: int() would also take "²" or Arabic-Indic digits


def parse_address(value: str, field: str) -> Address:
    """Parse HOST:PORT (IPv6 as [HOST]:PORT), or raise AddressError naming `field`."""
    if ":" not in value:
        raise AddressError(f"{field} must be HOST:PORT, got {value!r}")
    host, _, port_text = value.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not _PORT.fullmatch(port_text) or int(port_text) > 65535:
        raise AddressError(f"{field} port must be a number 0..65535, got {value!r}")
    try:
        host.encode("idna")  # what getaddrinfo will do; a label of 64+ characters or "a..b" fails here
    except UnicodeError as exc:
        raise AddressError(f"{field} host is not a valid host name ({exc}), got {value!r}") from None
    # An empty host means every interface, as in Go's net.Listen(":port").
    return Address(host or "0.0.0.0", int(port_text))


def bind_listener(address: Address, reuse_port: bool = False) -> socket.socket:
    """A listening socket on `address`; OSError (in use, no such address) is left to the caller. With
    `reuse_port`, the other processes of a fault proxy run with --processes listen on it too."""
    family, kind, proto, _, sockaddr = socket.getaddrinfo(
        address.host, address.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        # Re-enabling a proxy must get its old port back even with connections in TIME_WAIT.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(sockaddr)
        sock.listen(1024)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def bound_address(sock: socket.socket) -> Address:
    host, port = sock.getsockname()[:2]
    return Address(host, port)
