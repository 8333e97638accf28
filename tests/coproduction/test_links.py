"""Emailed links: signed, expiring after 7 days, good once and only for their addressee."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from accounts.exceptions import DomainError
from coproduction.models import EmailLink
from coproduction.services.links import email_link_create, email_link_use
from tests.coproduction.factories import LINK, ChangeRequestFactory, ContractFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def create(contract, user=None, **kwargs) -> str:
    """A new link's token."""
    url = email_link_create(
        user=user or contract.cocreator,
        contract=contract,
        purpose=kwargs.pop("purpose", EmailLink.Purpose.INVITATION),
        **kwargs,
    )
    match = LINK.fullmatch(url)
    assert match, url
    return match["token"]


@pytest.fixture
def contract():
    return ContractFactory()


def test_a_link_is_an_absolute_url_to_the_answer_screen(contract):
    url = email_link_create(
        user=contract.cocreator, contract=contract, purpose=EmailLink.Purpose.INVITATION
    )

    assert url.startswith(f"{settings.SITE_URL}/co-productions/link/")
    link = EmailLink.objects.get()
    assert (link.user, link.contract, link.purpose) == (
        contract.cocreator,
        contract,
        EmailLink.Purpose.INVITATION,
    )
    assert link.expires_at == pytest.approx(
        timezone.now() + datetime.timedelta(days=7), abs=datetime.timedelta(seconds=5)
    )
    assert link.used_at is None


def test_a_link_works_once_for_its_user():
    change = ChangeRequestFactory(contract=ContractFactory(active=True))
    token = create(change.contract, purpose=EmailLink.Purpose.CHANGE, change_request=change)

    link = email_link_use(token=token, user=change.contract.cocreator)

    assert (link.contract, link.change_request, link.purpose) == (
        change.contract,
        change,
        EmailLink.Purpose.CHANGE,
    )
    link.refresh_from_db()
    assert link.used_at is not None

    with pytest.raises(DomainError, match="already used"):
        email_link_use(token=token, user=change.contract.cocreator)


def test_another_user_cannot_use_it_and_it_stays_usable(contract):
    token = create(contract)

    for intruder in (UserFactory(validated=True), contract.product.producer):
        with pytest.raises(DomainError, match="not valid for your account"):
            email_link_use(token=token, user=intruder)

    assert EmailLink.objects.get().used_at is None
    assert email_link_use(token=token, user=contract.cocreator).contract == contract


def test_each_link_is_its_own(contract):
    first, second = create(contract), create(contract)

    email_link_use(token=first, user=contract.cocreator)

    assert first != second
    assert email_link_use(token=second, user=contract.cocreator).contract == contract


@pytest.mark.parametrize(
    ("age", "usable"),
    [
        (datetime.timedelta(days=6, hours=23), True),
        (datetime.timedelta(days=7, seconds=1), False),
        (datetime.timedelta(days=8), False),
    ],
)
def test_a_link_expires_after_7_days(age, usable, contract):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        token = create(contract)
        traveller.shift(age)

        if usable:
            assert email_link_use(token=token, user=contract.cocreator).contract == contract
        else:
            with pytest.raises(DomainError, match="expired"):
                email_link_use(token=token, user=contract.cocreator)
            assert EmailLink.objects.get().used_at is None


def test_the_stored_expiry_is_checked_too(contract):
    token = create(contract)
    EmailLink.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    with pytest.raises(DomainError, match="expired"):
        email_link_use(token=token, user=contract.cocreator)


def _flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: _flip(token, len(token) - 1),  # the signature
        lambda token: _flip(token, 3),  # the payload
        lambda token: token[:-5],
        lambda token: "not-a-token",
        lambda token: "",
    ],
    ids=["signature", "payload", "truncated", "garbage", "empty"],
)
def test_a_tampered_token_is_refused(tamper, contract):
    token = create(contract)

    with pytest.raises(DomainError, match="not valid"):
        email_link_use(token=tamper(token), user=contract.cocreator)

    assert EmailLink.objects.get().used_at is None
    assert email_link_use(token=token, user=contract.cocreator).contract == contract


def test_a_token_signed_for_another_purpose_is_refused(contract):
    from django.core import signing

    create(contract)
    forged = signing.dumps({"l": EmailLink.objects.get().pk}, compress=True)  # default salt

    with pytest.raises(DomainError, match="not valid"):
        email_link_use(token=forged, user=contract.cocreator)
