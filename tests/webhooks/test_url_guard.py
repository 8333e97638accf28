"""The SSRF guard: only public addresses, https (http to loopback only when allowed)."""

import socket

import pytest
from django.core.exceptions import ValidationError

from accounts.url_guard import check_url


def resolving_to(monkeypatch, *addresses: str) -> None:
    """Every host name resolves to `addresses` (IP literals still resolve to themselves)."""
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if _is_literal(host):
            return real(host, port, *args, **kwargs)
        return _infos(addresses)

    def _infos(values):
        return [
            (
                socket.AF_INET6 if ":" in value else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (value, 443, 0, 0) if ":" in value else (value, 443),
            )
            for value in values
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def _is_literal(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


REFUSED = [
    "https://10.0.0.1/hook",
    "https://10.255.255.255/hook",
    "https://172.16.0.1/hook",
    "https://172.31.255.1/hook",
    "https://192.168.1.10/hook",
    "https://127.0.0.1/hook",
    "https://127.1.2.3:8443/hook",
    "https://[::1]/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://[fe80::1]/hook",
    "https://[fc00::1]/hook",
    "https://[fd12:3456::1]/hook",
    "https://100.64.0.1/hook",
    "https://0.0.0.0/hook",
    "https://[::]/hook",
    "https://224.0.0.1/hook",
    "https://240.0.0.1/hook",
    "https://[::ffff:10.0.0.1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:169.254.169.254]/hook",
    "https://2130706433/hook",  # 127.0.0.1 written as one number
]


@pytest.mark.parametrize("url", REFUSED)
def test_private_loopback_and_link_local_addresses_are_refused(url, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    with pytest.raises(ValidationError) as caught:
        check_url(url)
    assert caught.value.code == "private_address"
    assert "cannot receive webhooks" in caught.value.messages[0]


def test_a_public_https_address_is_accepted(monkeypatch):
    resolving_to(monkeypatch, "93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946")
    check_url("https://hooks.example.com/coprod")
    check_url("https://93.184.216.34:8443/coprod")


def test_a_host_name_that_resolves_to_a_private_address_is_refused(monkeypatch):
    resolving_to(monkeypatch, "10.1.2.3")
    with pytest.raises(ValidationError) as caught:
        check_url("https://innocent.example.com/hook")
    assert "10.1.2.3" in caught.value.messages[0]


def test_one_private_address_among_public_ones_refuses_the_host(monkeypatch):
    resolving_to(monkeypatch, "93.184.216.34", "192.168.0.7")
    with pytest.raises(ValidationError):
        check_url("https://mixed.example.com/hook")


def test_an_unknown_host_is_refused(monkeypatch):
    def fail(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(ValidationError) as caught:
        check_url("https://nowhere.invalid/hook")
    assert caught.value.code == "unresolvable"


@pytest.mark.parametrize(
    "url", ["http://hooks.example.com/hook", "ftp://hooks.example.com/", "hooks.example.com", ""]
)
def test_only_https_is_accepted(url, monkeypatch, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    resolving_to(monkeypatch, "93.184.216.34")
    with pytest.raises(ValidationError) as caught:
        check_url(url)
    assert caught.value.code in {"https_required", "invalid"}


def test_the_setting_allows_loopback_and_http_to_loopback_only(monkeypatch, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    check_url("http://127.0.0.1:8000/hook")
    check_url("https://[::1]/hook")
    with pytest.raises(ValidationError):
        check_url("https://10.0.0.1/hook")  # private stays refused
    resolving_to(monkeypatch, "93.184.216.34")
    with pytest.raises(ValidationError) as caught:
        check_url("http://hooks.example.com/hook")  # never plain http to the internet
    assert caught.value.code == "https_required"


def test_a_bad_port_is_an_invalid_url():
    with pytest.raises(ValidationError) as caught:
        check_url("https://hooks.example.com:99999/hook")
    assert caught.value.code == "invalid"
