"""Where a webhook may be sent: http(s) only, and by default only to public addresses, so that a
subscription cannot make the server reach its own loopback, private network or cloud metadata
(server-side request forgery). Checked when the subscription is made and again before every request,
since a name may resolve elsewhere later (DNS rebinding).

Operators open more with ``TRACEANCHOR_WEBHOOK_ALLOW_HOSTS`` (names, addresses or CIDR networks) or
``TRACEANCHOR_WEBHOOK_ALLOW_PRIVATE``; to restrict further, route the process's outbound traffic
through an egress firewall or proxy.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from service.errors import InvalidInput
from service.settings import Settings

SCHEMES = {"http": 80, "https": 443}


class RefusedDestination(InvalidInput):
    """A ``dest`` the server will not send to."""


def check(dest: str, settings: Settings) -> None:
    """RefusedDestination (400, field ``dest``) unless ``dest`` is an http(s) URL whose host resolves only to
    addresses this server may send to."""
    try:
        parts = urlsplit(dest)
        port = parts.port or SCHEMES.get(parts.scheme.lower(), 0)
    except ValueError as error:
        raise RefusedDestination(f"dest: not a URL ({error})", field="dest") from None
    if parts.scheme.lower() not in SCHEMES or not parts.hostname:
        raise RefusedDestination("dest: an http or https URL with a host", field="dest")
    if parts.username or parts.password:
        raise RefusedDestination("dest: credentials in the URL are not accepted; use signatureToken", field="dest")
    host = parts.hostname.lower()
    allowed = [entry.strip().lower() for entry in settings.webhook_allow_hosts.split(",") if entry.strip()]
    if settings.webhook_allow_private or host in allowed:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        raise RefusedDestination(f"dest: the host {host!r} does not resolve", field="dest") from None
    for text in addresses:
        address = ipaddress.ip_address(text.partition("%")[0])
        if not address.is_global and not _listed(address, allowed):
            raise RefusedDestination(
                f"dest: {host!r} resolves to {address}, which is not a public address "
                "(an operator may allow it with TRACEANCHOR_WEBHOOK_ALLOW_HOSTS)", field="dest")


def _listed(address, allowed: list[str]) -> bool:
    for entry in allowed:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:  # a host name: compared above
            continue
    return False
