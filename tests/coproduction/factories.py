"""Co-production factories (contracts in every status, change requests) and the input and
email helpers the co-production tests share.

Factories write rows directly, bypassing the services, so tests can build any state (including
ones the services would refuse) and then check what the services do with it."""

import datetime
import re
from decimal import Decimal

import factory
from django.core import mail
from django.utils import timezone

from coproduction.models import ChangeRequest, Contract, TermsOfUse
from tests.factories import ProductFactory, UserFactory


def terms_of_use() -> TermsOfUse:
    """The newest published terms; a transactional test's flush may have removed version 1."""
    terms = TermsOfUse.objects.order_by("-version").first()
    if terms is None:
        terms = TermsOfUse.objects.create(version=1, body="Co-creation Terms of Use")
    return terms


def _past(days: int):
    return factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=days))


class ContractFactory(factory.django.DjangoModelFactory):
    """A pending invitation unless a trait says otherwise: active, declined, canceled, ended,
    expired. `affiliates=[...]` chooses affiliates (and sets all_affiliates=False)."""

    class Meta:
        model = Contract
        skip_postgeneration_save = True

    product = factory.SubFactory(ProductFactory)
    cocreator = factory.SubFactory(UserFactory, validated=True)
    role = Contract.Role.EXPERT
    status = Contract.Status.PENDING
    sales_scope = Contract.SalesScope.ALL
    all_affiliates = True
    commission_percent = 10
    affiliate_commission_percent = None
    coproduction_model = Contract.CoproductionModel.REVENUE_SHARE
    terms = factory.LazyFunction(terms_of_use)

    class Params:
        active = factory.Trait(
            status=Contract.Status.ACTIVE, accepted_at=factory.LazyFunction(timezone.now)
        )
        declined = factory.Trait(
            status=Contract.Status.DECLINED, closed_at=factory.LazyFunction(timezone.now)
        )
        canceled = factory.Trait(
            status=Contract.Status.CANCELED, closed_at=factory.LazyFunction(timezone.now)
        )
        ended = factory.Trait(
            status=Contract.Status.ENDED,
            accepted_at=factory.LazyFunction(timezone.now),
            closed_at=factory.LazyFunction(timezone.now),
        )
        expired = factory.Trait(
            status=Contract.Status.EXPIRED,
            end_date=_past(1),
            accepted_at=factory.LazyFunction(timezone.now),
            closed_at=factory.LazyFunction(timezone.now),
        )

    @factory.post_generation
    def affiliates(self, create, extracted, **kwargs):
        if create and extracted:
            self.affiliates.set(extracted)
            if self.all_affiliates:
                self.all_affiliates = False
                self.save(update_fields=["all_affiliates"])


class ChangeRequestFactory(factory.django.DjangoModelFactory):
    """A pending change of terms on an active contract, requested by its producer.
    Traits: termination, by_cocreator, accepted, refused, withdrawn."""

    class Meta:
        model = ChangeRequest

    contract = factory.SubFactory(ContractFactory, active=True)
    kind = ChangeRequest.Kind.CHANGE
    status = ChangeRequest.Status.PENDING
    before = factory.LazyAttribute(
        lambda o: (
            {"commission_percent": f"{o.contract.commission_percent:.2f}"}
            if o.kind == ChangeRequest.Kind.CHANGE
            else {}
        )
    )
    after = factory.LazyAttribute(
        lambda o: {"commission_percent": "20.00"} if o.kind == ChangeRequest.Kind.CHANGE else {}
    )
    requested_by = factory.LazyAttribute(lambda o: o.contract.product.producer)

    class Params:
        termination = factory.Trait(kind=ChangeRequest.Kind.TERMINATION)
        by_cocreator = factory.Trait(
            kind=ChangeRequest.Kind.TERMINATION,
            requested_by=factory.LazyAttribute(lambda o: o.contract.cocreator),
        )
        accepted = factory.Trait(
            status=ChangeRequest.Status.ACCEPTED,
            responded_at=factory.LazyFunction(timezone.now),
        )
        refused = factory.Trait(
            status=ChangeRequest.Status.REFUSED,
            responded_at=factory.LazyFunction(timezone.now),
        )
        withdrawn = factory.Trait(
            status=ChangeRequest.Status.WITHDRAWN,
            responded_at=factory.LazyFunction(timezone.now),
        )


def terms_fields(**overrides) -> dict:
    """The terms a producer fills in when inviting or proposing a change."""
    fields = {
        "end_date": None,
        "sales_scope": Contract.SalesScope.ALL,
        "all_affiliates": True,
        "affiliates": (),
        "commission_percent": Decimal("10"),
        "affiliate_commission_percent": None,
    }
    return {**fields, **overrides}


def invite_fields(**overrides) -> dict:
    """Everything contract_invite takes besides product, actor and email."""
    fields = {
        "role": Contract.Role.EXPERT,
        "coproduction_model": Contract.CoproductionModel.REVENUE_SHARE,
        "automatic_sales_recovery": False,
        "terms_accepted": True,
        **terms_fields(),
    }
    return {**fields, **overrides}


def change_fields(contract: Contract, **overrides) -> dict:
    """A contract's current terms as change_request_propose takes them, with overrides."""
    current = {
        "end_date": contract.end_date,
        "sales_scope": contract.sales_scope,
        "all_affiliates": contract.all_affiliates,
        "affiliates": list(contract.affiliates.all()),
        "commission_percent": contract.commission_percent,
        "affiliate_commission_percent": contract.affiliate_commission_percent,
    }
    return {**current, **overrides}


LINK = re.compile(r"(?P<url>http\S+/co-productions/link/(?P<token>[^/\s]+)/)")


def emails_to(user) -> list:
    return [message for message in mail.outbox if message.to == [user.email]]


def the_link(message) -> str:
    """The signed token of the one answer link in an email (text and HTML carry the same)."""
    tokens = {match["token"] for match in LINK.finditer(message.body)}
    assert len(tokens) == 1, message.body
    (html, _mime) = message.alternatives[0]
    assert tokens == {match["token"] for match in LINK.finditer(html)}
    return tokens.pop()
