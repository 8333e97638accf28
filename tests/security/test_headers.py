"""Every response carries a Content-Security-Policy that runs scripts and styles only from our
own files (no inline script, handler or style attribute, no eval) and a Permissions-Policy that
turns off the browser features no page uses; gunicorn names no server."""

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.templatetags.static import static
from django.test import Client
from django.urls import path, reverse

from tests.factories import SaleFactory

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
    "base-uri": ["'self'"],
    "object-src": ["'none'"],
}
FEATURES_OFF = ["camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"]


def policy_of(response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as {directive: sources}; {} when there is none."""
    directives = {}
    for part in response.headers.get("Content-Security-Policy", "").split(";"):
        if words := part.split():
            directives[words[0]] = words[1:]
    return directives


def header_problems(response) -> list[str]:
    policy = policy_of(response)
    problems = []
    if not policy:
        problems.append("no Content-Security-Policy")
    elif policy.get("script-src") != ["'self'"]:
        problems.append(f"script-src {policy.get('script-src')}")
    if any(source.startswith("'unsafe-") for sources in policy.values() for source in sources):
        problems.append(f"unsafe source in {response.headers['Content-Security-Policy']}")
    features = {f.strip() for f in response.headers.get("Permissions-Policy", "").split(",")}
    if missing := [feature for feature in FEATURES_OFF if feature not in features]:
        problems.append(f"Permissions-Policy lacks {missing}")
    return problems


class InlineCode(HTMLParser):
    """What the policy would block in a page: inline <script> and <style>, on…= handlers,
    style="…" attributes and javascript: links. A JSON <script> is data, never run."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        data = attributes.get("type") in {"application/json", "application/ld+json"}
        if tag == "script" and "src" not in attributes and not data:
            self.found.append(self.get_starttag_text())
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.found.append(self.get_starttag_text())
            if name in {"href", "src", "action"} and (value or "").strip().startswith(
                "javascript:"
            ):
                self.found.append(self.get_starttag_text())


def inline_code(response) -> list[str]:
    if not response.headers.get("Content-Type", "").startswith("text/html"):
        return []
    parser = InlineCode()
    parser.feed(response.content.decode())
    return parser.found


@pytest.mark.parametrize("who", ["anonymous", "logged in"])
def test_every_url_sends_both_policies_and_no_inline_code(who, site_urls, person_client):
    SaleFactory(paid=True)
    client = person_client if who == "logged in" else Client(raise_request_exception=False)
    problems, inline = [], []
    for url in site_urls:
        response = client.get(url)
        if found := header_problems(response):
            problems.append((url, response.status_code, found))
        if found := inline_code(response):
            inline.append((url, found))

    assert not problems
    assert not inline


def test_the_policy_is_the_strict_one(client):
    response = client.get("/")

    assert response.status_code == 200
    assert policy_of(response) == POLICY


def test_htmx_adds_no_style_and_evaluates_nothing(client):
    """htmx 2 would insert a <style> for .htmx-indicator and eval hx-on / js: values."""
    html = client.get("/").content.decode()

    found = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", html)
    config = json.loads(found.group(1))
    assert config["includeIndicatorStyles"] is False
    assert config["allowEval"] is False
    assert config["allowScriptTags"] is False


def test_htmx_swaps_a_429_form_and_no_other_error(client):
    """A payment form refused past its limit (products.payments.limits) comes back as 429 with
    the message: htmx 2 swaps no 4xx by default; this one it must, the others it must not."""
    html = client.get("/").content.decode()
    config = json.loads(re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", html)[1])

    assert config["responseHandling"][:2] == [
        {"code": "204", "swap": False},
        {"code": "429", "swap": True, "error": False},
    ]
    assert {"code": "[45]..", "swap": False, "error": True} in config["responseHandling"]


def test_fragments_static_files_and_refusals_carry_the_policies(person_client, client):
    fragment = person_client.get(reverse("accounts:bell"), headers={"HX-Request": "true"})
    stylesheet = client.get(static("css/app.css"))
    refused = Client(enforce_csrf_checks=True).post(reverse("account_login"), {"login": "x"})

    assert (fragment.status_code, stylesheet.status_code, refused.status_code) == (200, 200, 403)
    for response in (fragment, stylesheet, refused):
        assert not header_problems(response)


def broken(request):
    raise RuntimeError("boom")


urlpatterns = [path("broken/", broken)]


@pytest.mark.urls(__name__)
def test_a_server_error_carries_the_policies():
    response = Client(raise_request_exception=False).get("/broken/")

    assert response.status_code == 500
    assert not header_problems(response)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gunicorn(tmp_path):
    """The web process as the Procfile starts it (config/gunicorn.py), on a free port; its
    requests here need no database."""
    port = free_port()
    env = os.environ | {
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def get(port: int, url: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    connection.request("GET", url)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_gunicorn_names_no_server(gunicorn):
    health = get(gunicorn, "/healthz")
    static = get(gunicorn, "/static/css/app.css")

    assert (health.status, static.status) == (200, 200)
    for response in (health, static):
        assert response.getheader("Server") is None, response.getheaders()
    # What the app adds still arrives through gunicorn.
    assert "script-src 'self'" in static.getheader("Content-Security-Policy")
    assert "camera=()" in static.getheader("Permissions-Policy")
