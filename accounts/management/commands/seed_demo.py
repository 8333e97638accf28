"""Load the demo data the README lists; running it again changes nothing."""

import calendar
from datetime import datetime, time, timedelta

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import AccountValidation, PayoutAccount, User
from coproduction.models import Contract, TermsAcceptance, TermsOfUse
from products.models import Affiliation, Plan, Product, Sale
from products.payments import keys
from products.payments.gateway import GatewayResult, Outcome
from products.payments.services import AttemptPlan, attempts_start, payments_record
from products.services.sales import sale_refund
from subscriptions.models import Recurrence, Subscription
from subscriptions.schedule import due_date

DEMO_PASSWORD = "demo-pass-2026"

USERS = [
    # email, full name, validated?, staff?, language, time zone
    ("admin@demo.test", "Ada Admin", True, True, "en", "UTC"),
    ("producer@demo.test", "Paula Producer", True, False, "pt-br", "America/Sao_Paulo"),
    ("affiliate1@demo.test", "Alex Affiliate", True, False, "en", "America/Sao_Paulo"),
    ("affiliate2@demo.test", "Bia Affiliate", True, False, "pt-br", "America/Sao_Paulo"),
    ("cocreator@demo.test", "Caio Cocreator", True, False, "pt-br", "America/Sao_Paulo"),
    ("cocreator2@demo.test", "Dora Cocreator", True, False, "es", "America/Mexico_City"),
    ("buyer@demo.test", "Bruno Buyer", False, False, "pt-br", "America/Sao_Paulo"),
]


class Command(BaseCommand):
    help = "Create the demo users, products, plans and affiliations (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        users = {
            email: self._user(email, name, validated, staff, language=language, zone=zone)
            for email, name, validated, staff, language, zone in USERS
        }
        producer = users["producer@demo.test"]
        course, _ = Product.objects.get_or_create(
            producer=producer,
            name="Django for Producers",
            defaults={
                "description": "A video course: build and sell your first web product.",
                "currency": "BRL",
                "kind": Product.Kind.ONE_TIME,
                "price_minor": 19700,
                "affiliate_commission_percent": 35,
                "cocreators_may_be_affiliates": True,
            },
        )
        club, _ = Product.objects.get_or_create(
            producer=producer,
            name="Growth Club",
            defaults={
                "description": "A membership with weekly live sessions and templates.",
                "currency": "BRL",
                "kind": Product.Kind.SUBSCRIPTION,
                "affiliate_commission_percent": 30,
            },
        )
        plans = [
            ("Monthly", Plan.Periodicity.MONTHLY, 4990, 990, None),
            ("Quarterly, 4 installments", Plan.Periodicity.QUARTERLY, 12900, None, 4),
            ("Yearly", Plan.Periodicity.YEARLY, 49900, None, None),
        ]
        for name, periodicity, price, promo, installments in plans:
            Plan.objects.get_or_create(
                product=club,
                name=name,
                defaults={
                    "periodicity": periodicity,
                    "price_minor": price,
                    "promo_first_price_minor": promo,
                    "installments": installments,
                },
            )
        # One approved affiliate and one waiting, so the producer has something to approve.
        Affiliation.objects.get_or_create(
            product=course,
            affiliate=users["affiliate1@demo.test"],
            defaults={
                "status": Affiliation.Status.APPROVED,
                "commission_percent": 35,
                "code": "DEMOALEX",
                "decided_at": timezone.now(),
            },
        )
        Affiliation.objects.get_or_create(
            product=course,
            affiliate=users["affiliate2@demo.test"],
            defaults={
                "status": Affiliation.Status.PENDING,
                "commission_percent": 35,
                "code": "DEMOBIA",
            },
        )
        Affiliation.objects.get_or_create(
            product=club,
            affiliate=users["affiliate2@demo.test"],
            defaults={
                "status": Affiliation.Status.APPROVED,
                "commission_percent": 30,
                "code": "DEMOBIACLUB",
                "decided_at": timezone.now(),
            },
        )
        self._coproduction_and_sales(course, users)
        self._subscriptions(club, users)
        self._invitation(club, users)
        self._payout_accounts(users)
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready. Password for every demo login: {DEMO_PASSWORD}")
        )

    def _payout_accounts(self, users: dict[str, User]) -> None:
        """A Pix key (their email) for the producer and the first cocreator, so both can
        withdraw what the older demo sales released."""
        for email in ("producer@demo.test", "cocreator@demo.test"):
            user = users[email]
            validation = user.validation
            PayoutAccount.objects.get_or_create(
                user=user,
                kind=PayoutAccount.Kind.PIX,
                is_active=True,
                defaults={
                    "pix_key_type": PayoutAccount.PixKeyType.EMAIL,
                    "pix_key": user.email,
                    "holder_name": validation.legal_name,
                    "holder_document": "".join(
                        ch for ch in validation.tax_document if ch.isalnum()
                    ).upper(),
                },
            )

    def _coproduction_and_sales(self, course: Product, users: dict[str, User]) -> None:
        """Dora co-produces the course (10 %) since months ago; a dozen paid sales over the
        last six months, every third through Alex's affiliate link, one partly refunded."""
        now = timezone.now()
        terms = TermsOfUse.objects.order_by("-version").first()
        dora = users["cocreator2@demo.test"]
        contract, created = Contract.objects.get_or_create(
            product=course,
            cocreator=dora,
            status=Contract.Status.ACTIVE,
            defaults={
                "role": Contract.Role.TRAFFIC,
                "sales_scope": Contract.SalesScope.ALL,
                "commission_percent": 10,
                "coproduction_model": Contract.CoproductionModel.REVENUE_SHARE,
                "terms": terms,
                "invited_at": now - timedelta(days=200),
                "accepted_at": now - timedelta(days=199),
            },
        )
        if created:
            for user in (course.producer, dora):
                TermsAcceptance.objects.create(contract=contract, user=user, terms=terms)
        affiliation = Affiliation.objects.get(code="DEMOALEX")
        buyer = users["buyer@demo.test"]
        sales = []
        for i in range(12):
            paid_at = now - timedelta(days=15 * i + 1)
            sale, created = Sale.objects.get_or_create(
                checkout_key=f"demo-sale-{i}",
                defaults={
                    "product": course,
                    "buyer": buyer,
                    "affiliation": affiliation if i % 3 == 0 else None,
                    "amount_minor": course.price_minor,
                    "currency": course.currency,
                    "method": "card",
                    "country": "BR",
                    "created_at": paid_at,
                },
            )
            if created or sale.status == Sale.Status.PENDING:
                # Paid through the one payment path, as the gateway approved it back then.
                [attempts] = attempts_start(
                    plans=[AttemptPlan(sale.pk, (sale.amount_minor,), sale.method)], now=paid_at
                )
                payments_record(
                    outcomes=[
                        (a, GatewayResult(Outcome.APPROVED, f"sim_demo_{sale.pk}", "Approved"))
                        for a in attempts
                    ],
                    now=paid_at,
                )
                sale.refresh_from_db()
            sales.append(sale)
        refunded = sales[4]
        if not refunded.refunds.exists():
            sale_refund(
                sale=refunded, actor=course.producer, amount_minor=5000, reason="Demo refund"
            )

    def _invitation(self, club: Product, users: dict[str, User]) -> None:
        """Caio is invited to co-produce the club: it waits in his inbox and on his dashboard."""
        from coproduction.services.contracts import contract_invite

        caio = users["cocreator@demo.test"]
        if Contract.objects.filter(product=club, cocreator=caio).exists():
            return
        contract_invite(
            product=club,
            actor=club.producer,
            cocreator_email=caio.email,
            role=Contract.Role.EXPERT,
            coproduction_model=Contract.CoproductionModel.REVENUE_SHARE,
            automatic_sales_recovery=False,
            terms_accepted=True,
            end_date=None,
            sales_scope=Contract.SalesScope.ALL,
            all_affiliates=True,
            affiliates=(),
            commission_percent=15,
            affiliate_commission_percent=None,
        )

    def _subscriptions(self, club: Product, users: dict[str, User]) -> None:
        """Three Growth Club subscriptions whose second installment is due today, so the
        worker and beat bill them within minutes of `make run`: a card that pays, a card that
        is declined (retried tomorrow), and a Boleto whose slip is issued and emailed."""
        plan = club.plans.get(name="Monthly")
        buyer = users["buyer@demo.test"]
        today = timezone.now().date()
        previous = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        anchor = previous.replace(
            day=min(today.day, calendar.monthrange(previous.year, previous.month)[1])
        )
        demo = [
            ("demo-sub-card", "card", "4242424242424242", "Card •••• 4242"),
            ("demo-sub-declined", "card", "4000000000000002", "Card •••• 0002"),
            ("demo-sub-boleto", "boleto", "", "Boleto Bancário"),
        ]
        for key, method, token, label in demo:
            subscription, created = Subscription.objects.get_or_create(
                checkout_key=key,
                defaults={
                    "product": club,
                    "plan": plan,
                    "buyer": buyer,
                    "status": Subscription.Status.INITIATED,
                    "method": method,
                    "country": "BR",
                    "payment_token": token,
                    "payment_label": label,
                    "anchor_date": anchor,
                    "last_number": 1,
                    "next_charge_date": due_date(anchor, plan.periodicity, 2),
                    "created_at": timezone.make_aware(datetime.combine(anchor, time(9))),
                },
            )
            if not created:
                continue
            paid_at = subscription.created_at
            sale = Sale.objects.create(
                product=club,
                buyer=buyer,
                subscription=subscription,
                amount_minor=plan.promo_first_price_minor or plan.price_minor,
                currency=club.currency,
                method=method,
                country="BR",
                checkout_key=keys.recurrence_key(subscription_id=subscription.pk, number=1),
                created_at=paid_at,
            )
            Recurrence.objects.create(
                subscription=subscription,
                number=1,
                due_date=anchor,
                amount_minor=sale.amount_minor,
                status=Recurrence.Status.COLLECTING,
                sale=sale,
                window_closes_at=paid_at + timedelta(days=6),
            )
            # The first installment paid through the one payment path, a month ago.
            [attempts] = attempts_start(
                plans=[AttemptPlan(sale.pk, (sale.amount_minor,), method)], now=paid_at
            )
            payments_record(
                outcomes=[
                    (a, GatewayResult(Outcome.APPROVED, f"sim_demo_sub_{sale.pk}", "Approved"))
                    for a in attempts
                ],
                now=paid_at,
            )

    def _user(
        self, email: str, name: str, validated: bool, staff: bool, *, language: str, zone: str
    ) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email=email,
                password=DEMO_PASSWORD,
                full_name=name,
                is_staff=staff,
                is_superuser=staff,
                language=language,
                time_zone=zone,
            )
        EmailAddress.objects.get_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        if validated:
            AccountValidation.objects.get_or_create(
                user=user,
                defaults={
                    "legal_name": name,
                    "country": "BR",
                    "tax_document": "123.456.789-09",
                    "status": AccountValidation.Status.VALIDATED,
                    "decided_at": timezone.now(),
                },
            )
        return user
