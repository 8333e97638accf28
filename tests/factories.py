"""factory-boy factories for every model, with traits for the states tests need."""

import factory
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP
from django.utils import timezone

from accounts.models import AccountValidation, User
from products.models import Affiliation, Plan, Product, Sale

PASSWORD = "test-pass-2026"
# The authenticator-app secret of every staff user the factory makes (base32, as apps take it).
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.django.Password(PASSWORD)

    class Params:
        validated = factory.Trait(
            validation=factory.RelatedFactory(
                "tests.factories.AccountValidationFactory",
                factory_related_name="user",
                status=AccountValidation.Status.VALIDATED,
            )
        )

    @factory.post_generation
    def verified_email(self, create, extracted, **kwargs):
        if create and extracted is not False:
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)

    @factory.post_generation
    def authenticator_app(self, create, extracted, **kwargs):
        # Staff must have one (accounts.staff_access); authenticator_app=False makes one who has
        # not set it up yet.
        if create and extracted is not False and (self.is_staff or self.is_superuser):
            TOTP.activate(self, TOTP_SECRET)


class AccountValidationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccountValidation

    user = factory.SubFactory(UserFactory)
    legal_name = factory.LazyAttribute(lambda o: o.user.full_name or "Legal Name")
    country = "BR"
    tax_document = "123.456.789-09"
    status = AccountValidation.Status.PENDING

    class Params:
        validated = factory.Trait(
            status=AccountValidation.Status.VALIDATED, decided_at=factory.LazyFunction(timezone.now)
        )
        rejected = factory.Trait(
            status=AccountValidation.Status.REJECTED, review_note="Blurry document"
        )


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    producer = factory.SubFactory(UserFactory, validated=True)
    name = factory.Sequence(lambda n: f"Product {n}")
    description = "A digital product."
    currency = "BRL"
    kind = Product.Kind.ONE_TIME
    price_minor = 10000

    class Params:
        subscription = factory.Trait(kind=Product.Kind.SUBSCRIPTION, price_minor=None)


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    product = factory.SubFactory(ProductFactory, subscription=True)
    name = "Monthly"
    periodicity = Plan.Periodicity.MONTHLY
    price_minor = 4990


class AffiliationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Affiliation

    product = factory.SubFactory(ProductFactory)
    affiliate = factory.SubFactory(UserFactory, validated=True)
    commission_percent = 30
    status = Affiliation.Status.PENDING

    class Params:
        approved = factory.Trait(
            status=Affiliation.Status.APPROVED, decided_at=factory.LazyFunction(timezone.now)
        )
        refused = factory.Trait(
            status=Affiliation.Status.REFUSED, decided_at=factory.LazyFunction(timezone.now)
        )


class SaleFactory(factory.django.DjangoModelFactory):
    """A one-time sale; `paid=True` pays it through the real service (split and ledger)."""

    class Meta:
        model = Sale
        skip_postgeneration_save = True

    product = factory.SubFactory(ProductFactory)
    buyer = factory.SubFactory(UserFactory)
    amount_minor = factory.LazyAttribute(lambda o: o.product.price_minor or 10000)
    currency = factory.LazyAttribute(lambda o: o.product.currency)
    method = "card"
    country = "BR"
    checkout_key = factory.Sequence(lambda n: f"checkout-{n}")

    @factory.post_generation
    def paid(self, create, extracted, **kwargs):
        if create and extracted:
            from products.services.sales import sale_pay

            sale_pay(sale=self, token="4242424242424242")
            self.refresh_from_db()


_checkout_tokens: dict[tuple[int, str], str] = {}


def checkout_token(buyer, label: str = "form") -> str:
    """The signed token a checkout form the server issued to `buyer` carries; the same label
    gives the same token (the same form submitted again)."""
    from products.payments import keys

    key = (buyer.pk, label)
    if key not in _checkout_tokens:
        _checkout_tokens[key] = keys.checkout_token_new(buyer_id=buyer.pk)
    return _checkout_tokens[key]


def record_outcome(*, attempt, result):
    """Record one gateway answer through the one payment path; the sale as it is after."""
    from products.models import Sale
    from products.payments.services import payments_record

    payments_record(outcomes=[(attempt, result)])
    return Sale.objects.get(pk=attempt.sale_id)


def use_gateway(monkeypatch, gateway_class) -> None:
    """Make every caller of the payment path use `gateway_class` (a SimulatedGateway kind)."""
    from products.payments import services as payments
    from products.services import refunds
    from subscriptions.services import lifecycle

    for module in (payments, refunds, lifecycle):
        monkeypatch.setattr(module, "get_gateway", gateway_class)


class PayoutAccountFactory(factory.django.DjangoModelFactory):
    """An active payout account in its validated owner's name: a Pix email key (BRL) unless
    `eur`, `mxn` or `cop` says another kind."""

    class Meta:
        model = "accounts.PayoutAccount"

    user = factory.SubFactory(UserFactory, validated=True)
    kind = "pix"
    pix_key_type = "email"
    pix_key = factory.LazyAttribute(lambda o: o.user.email)
    holder_name = factory.LazyAttribute(lambda o: o.user.validation.legal_name)
    holder_document = factory.LazyAttribute(
        lambda o: "".join(ch for ch in o.user.validation.tax_document if ch.isalnum()).upper()
    )

    class Params:
        eur = factory.Trait(
            kind="iban", pix_key_type="", pix_key="", iban="PT50000201231234567890154"
        )
        mxn = factory.Trait(kind="clabe", pix_key_type="", pix_key="", clabe="002010077777777771")
        cop = factory.Trait(
            kind="co_bank",
            pix_key_type="",
            pix_key="",
            bank_code="007",
            bank_name="Bancolombia",
            account_type="savings",
            account_number="12345678901",
        )
