"""Emails are written in the recipient's language and zone, not the sender's (issue 9)."""

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import translation

from tests.coproduction.factories import terms_of_use
from tests.coproduction.test_views_producer import invite_data
from tests.factories import ProductFactory, SaleFactory, UserFactory

pytestmark = pytest.mark.django_db


def in_portuguese(english: str) -> str:
    with translation.override("pt-br"):
        return translation.gettext(english)


def test_an_english_producer_invites_a_portuguese_cocreator_and_the_email_is_portuguese(
    client, django_capture_on_commit_callbacks
):
    terms_of_use()
    producer = UserFactory(validated=True, language="en", full_name="Paula Producer")
    UserFactory(email="caio@example.com", validated=True, language="pt-br")
    product = ProductFactory(producer=producer, name="Data Course")
    client.force_login(producer)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("coproduction:invite", args=[product.pk]),
            invite_data(cocreator_email="caio@example.com"),
        )

    assert response.status_code == 302
    (email,) = mail.outbox
    assert email.to == ["caio@example.com"]
    expected = in_portuguese("%(name)s invited you to co-produce %(product)s") % {
        "name": "Paula Producer",
        "product": "Data Course",
    }
    assert email.subject.endswith(expected)
    assert "Paula Producer convidou você" in email.subject
    assert "Olá" in email.body
    assert (
        in_portuguese("Read the Co-production Information and accept or decline the invitation:")
        in email.body
    )
    html = email.alternatives[0][0]
    assert "Olá" in html
    # The producer's own screen stays English.
    assert translation.get_language() == "en"


def test_a_receipt_to_a_spanish_buyer_is_spanish_whatever_language_the_checkout_ran_in(
    django_capture_on_commit_callbacks,
):
    from products.services.sales import receipt_send

    buyer = UserFactory(language="es", time_zone="America/Bogota")
    sale = SaleFactory(buyer=buyer, paid=True, amount_minor=123456, product__name="Curso")
    mail.outbox.clear()

    with translation.override("pt-br"), django_capture_on_commit_callbacks(execute=True):
        receipt_send(sale=sale)

    (email,) = mail.outbox
    with translation.override("es"):
        assert email.subject.endswith(
            translation.gettext("Payment received: %(amount)s for %(product)s")
            % {"amount": "1.234,56\u00a0BRL", "product": "Curso"}
        )
    assert "1.234,56\u00a0BRL" in email.body  # Spanish writes a real this way


def test_a_slip_issued_by_the_billing_run_is_emailed_in_the_buyers_language(
    django_capture_on_commit_callbacks,
):
    from tests.subscriptions.factories import subscribe

    buyer = UserFactory(language="pt-br", time_zone="America/Sao_Paulo")
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(buyer=buyer, method="boleto", country="BR", token="")
    slips = [email for email in mail.outbox if email.to == [buyer.email]]
    assert slips, [email.subject for email in mail.outbox]
    assert "Seu boleto de" in slips[-1].subject
    assert "Olá" in slips[-1].body
