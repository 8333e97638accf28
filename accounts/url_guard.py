"""SSRF guard for outgoing webhooks: an endpoint's URL must be https and its host must resolve
only to public addresses, when the URL is saved and again at every delivery.

At delivery the check is not a separate look-up before the request (a DNS-rebinding server
could answer a public address to the check and a private one to the connection): the HTTP
client's connection layer (`GuardedBackend`) resolves the host itself, checks every address
and connects to the address it checked. TLS still verifies the certificate for the host name.

WEBHOOK_ALLOW_LOOPBACK (tests, local demos) admits 127.0.0.0/8 and ::1, and plain http only
when every address of the host is a loopback one: never http to the internet."""

import ipaddress
import socket
from urllib.parse import urlsplit

import httpcore
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Carrier-grade NAT (RFC 6598): neither private nor global, and inside some providers' networks.
_SHARED = ipaddress.ip_network("100.64.0.0/10")
# NAT64 (RFC 6052): the last 32 bits are an IPv4 address a NAT64 gateway would reach.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64), if any: such an
    address reaches that IPv4 host, so it is judged as that host."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_loopback(address: IPAddress) -> bool:
    embedded = _embedded_ipv4(address)
    return (embedded or address).is_loopback


def refusal(address: IPAddress) -> str | None:
    """Why a webhook may not be posted to `address` (a sentence), or None if it may."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return refusal(embedded)
    if address.is_loopback:
        if settings.WEBHOOK_ALLOW_LOOPBACK:
            return None
        return _("it points to this server (a loopback address)")
    if address.is_link_local:
        return _("it points to a link-local address")
    if address.is_unspecified:
        return _("it points to an unspecified address")
    if address.is_multicast:
        return _("it points to a multicast address")
    if address in _SHARED:
        return _("it points to a carrier-grade NAT address")
    # is_private covers 10/8, 172.16/12, 192.168/16, fc00::/7 and the documentation and
    # benchmarking ranges; is_reserved the rest IANA set aside. Anything else not global too.
    if address.is_private or address.is_reserved or not address.is_global:
        return _("it points to a private network address")
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (an IP literal resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as error:
        raise ValidationError(
            _("The address %(host)s could not be found."),
            code="unresolvable",
            params={"host": host},
        ) from error
    addresses = []
    for _family, _type, _proto, _name, sockaddr in infos:
        # An IPv6 sockaddr may carry a zone ("fe80::1%eth0"): the zone is not part of the address.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise ValidationError(
            _("The address %(host)s could not be found."),
            code="unresolvable",
            params={"host": host},
        )
    return addresses


def checked_addresses(host: str, port: int, *, scheme: str) -> list[IPAddress]:
    """`host`'s addresses, all of them allowed; a ValidationError names the first refused one.
    One refused address refuses the host: the connection could land on any of them."""
    addresses = resolve(host, port)
    for address in addresses:
        reason = refusal(address)
        if reason is not None:
            raise ValidationError(
                _("This URL cannot receive webhooks: %(reason)s (%(address)s)."),
                code="private_address",
                params={"reason": reason, "address": str(address)},
            )
    if scheme == "http" and not all(is_loopback(address) for address in addresses):
        raise ValidationError(_("The URL must start with https://."), code="https_required")
    return addresses


def parse(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL webhooks may be posted to; a ValidationError otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise ValidationError(_("Enter a valid URL."), code="invalid") from error
    scheme = parts.scheme.lower()
    allowed = {"https", "http"} if settings.WEBHOOK_ALLOW_LOOPBACK else {"https"}
    if scheme not in allowed:
        raise ValidationError(_("The URL must start with https://."), code="https_required")
    host = parts.hostname
    if not host:
        raise ValidationError(_("Enter a valid URL."), code="invalid")
    return scheme, host, port or (443 if scheme == "https" else 80)


def check_url(url: str) -> None:
    """Raise a ValidationError (a sentence for the person) unless webhooks may be posted to
    `url` now: https (http only to loopback, when allowed), and a host whose every address is
    public."""
    scheme, host, port = parse(url)
    checked_addresses(host, port, scheme=scheme)


class RefusedAddress(httpcore.ConnectError):
    """The host resolved to an address webhooks may not reach (httpx raises it as ConnectError
    with this message)."""


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket layer, but a TCP connection is opened only to an address this class
    resolved and checked itself, in the same call: nothing can answer differently in between."""

    def __init__(self, *, scheme: str):
        self.scheme = scheme

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            addresses = checked_addresses(host, port, scheme=self.scheme)
        except ValidationError as error:
            raise RefusedAddress(" ".join(error.messages)) from error
        last_error: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as error:  # try the host's next address
                last_error = error
        assert last_error is not None
        raise last_error


def guarded_transport(*, scheme: str) -> "httpx.HTTPTransport":  # noqa: F821
    """An httpx transport whose connections go through GuardedBackend, ignoring proxy settings
    from the environment (a proxy would connect on our behalf, unchecked)."""
    import httpx

    transport = httpx.HTTPTransport(trust_env=False, retries=0)
    # httpx does not take a network backend; its pool is rebuilt with the same TLS context.
    pool = transport._pool
    transport._pool = httpcore.ConnectionPool(
        ssl_context=pool._ssl_context,
        max_connections=1,
        max_keepalive_connections=0,
        network_backend=GuardedBackend(scheme=scheme),
    )
    return transport
