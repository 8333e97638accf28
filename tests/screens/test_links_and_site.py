"""Email links land on the screen where the request is, even once used or expired; the resend
message says the real minutes left; every absolute link follows SITE_URL (one helper)."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from coproduction.models import EmailLink
from coproduction.services.links import email_link_create
from tests.coproduction.factories import ChangeRequestFactory, ContractFactory
from tests.factories import AffiliationFactory, SaleFactory, UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def follow(client, url):
    return client.get(path_of(url), follow=True)


def test_a_used_change_link_lands_on_the_change_history(client):
    change = ChangeRequestFactory()
    cocreator = change.contract.cocreator
    url = email_link_create(
        user=cocreator, contract=change.contract, purpose="change", change_request=change
    )
    client.force_login(cocreator)
    follow(client, url)

    response = follow(client, url)

    history = reverse("coproduction:history", args=[change.contract.pk])
    assert response.redirect_chain[0][0] == history
    assert "This link was already used. The request is on this screen." in (
        response.content.decode()
    )


def test_an_expired_link_of_theirs_lands_on_the_screen_too(client):
    contract = ContractFactory()
    url = email_link_create(user=contract.cocreator, contract=contract, purpose="invitation")
    EmailLink.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    client.force_login(contract.cocreator)

    response = follow(client, url)

    assert response.redirect_chain[0][0] == reverse("coproduction:information", args=[contract.pk])
    assert "This link has expired" in response.content.decode()


def test_a_link_whose_signature_expired_lands_on_the_screen_too(client):
    contract = ContractFactory()
    url = email_link_create(user=contract.cocreator, contract=contract, purpose="invitation")
    client.force_login(contract.cocreator)
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        response = follow(client, url)
    assert response.redirect_chain[0][0] == reverse("coproduction:information", args=[contract.pk])


def test_a_used_invitation_link_takes_the_producer_to_the_contract_list(client):
    contract = ContractFactory(active=True)
    producer = contract.product.producer
    url = email_link_create(user=producer, contract=contract, purpose="answer")
    client.force_login(producer)
    follow(client, url)
    response = follow(client, url)
    assert response.redirect_chain[0][0] == reverse(
        "coproduction:product", args=[contract.product_id]
    )


def test_someone_elses_used_link_still_goes_to_the_dashboard(client):
    contract = ContractFactory()
    url = email_link_create(user=contract.cocreator, contract=contract, purpose="invitation")
    client.force_login(contract.cocreator)
    follow(client, url)
    client.force_login(UserFactory(validated=True))
    response = follow(client, url)
    assert response.redirect_chain[0][0] == reverse("dashboard")


@pytest.mark.parametrize(("after", "said"), [(10, "5 minutes"), (14, "1 minute.")])
def test_the_resend_message_says_the_real_minutes_left(client, after, said):
    contract = ContractFactory()
    client.force_login(contract.product.producer)
    with time_machine.travel(contract.last_sent_at + timedelta(minutes=after, seconds=1)):
        response = client.post(reverse("coproduction:resend", args=[contract.pk]), follow=True)
    assert f"You can resend it in {said}" in response.content.decode()
    assert mail.outbox == []


@override_settings(SITE_URL="https://coprod.example")
def test_email_and_affiliate_links_use_the_site_url(django_capture_on_commit_callbacks):
    from accounts.emails import email_person

    sale = SaleFactory(paid=True)
    contract = ContractFactory()
    link = email_link_create(user=contract.cocreator, contract=contract, purpose="invitation")
    assert link.startswith("https://coprod.example/co-productions/link/")
    affiliation = AffiliationFactory()
    assert affiliation.link == (
        f"https://coprod.example/p/{affiliation.product.pk}/?a={affiliation.code}"
    )
    with django_capture_on_commit_callbacks(execute=True):
        email_person(
            contract.cocreator,
            subject=lambda: "Hello",
            template="products/email/receipt",
            context={"sale": sale},
            path="/purchases/",
        )
    assert "https://coprod.example/purchases/" in mail.outbox[-1].body


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PORT": "8123"}, "http://localhost:8123"),
        ({}, "http://localhost:8000"),
        ({"SITE_URL": "https://shop.example/", "PORT": "8123"}, "https://shop.example"),
    ],
)
def test_site_url_defaults_to_the_port_make_run_serves_on(env, expected):
    clean = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "PORT")}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.SITE_URL)",
        ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings.test", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == expected
