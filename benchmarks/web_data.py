"""The big producer that `make bench-web` loads its pages on: 20 products, 30 cocreator
contracts on one of them, 5 000 one-time sales with their splits, 3 000 subscriptions with 6
paid recurrences each and 10 affiliates (sales and subscriptions times `scale`).

Rows are cloned in SQL from one template row each (INSERT … SELECT generate_series), then every
paid sale is split by the ledger's own writer (coproduction.services.ledger.ledger_write_splits,
which adds the entries to the balances through insert_entries), so the ledger and the balances
are what the payment path would have written."""

import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

PRODUCTS = 20
COCREATORS = 30
ONE_TIME_SALES = 5_000
SUBSCRIPTIONS = 3_000
RECURRENCES = 6
AFFILIATES = 10
BUYERS = 500
NOTIFICATIONS = 300
CHANGES = 60
PRICE_MINOR = 197_00
PLAN_PRICE_MINOR = 49_90
SPLIT_BATCH = 5_000
# Built data sets say what they are in this table, so an unchanged one is reused.
MARKER_TABLE = "bench_web_dataset"
# What changes the data set: bump when the builder changes.
VERSION = 1
SPREAD_OVER_A_YEAR = "now() - (n %% 365) * interval '1 day' - (n %% 1440) * interval '1 minute'"

TABLES = (
    "coproduction_ledgerentry",
    "coproduction_balance",
    "coproduction_balancerelease",
    "coproduction_withdrawal",
    "coproduction_changerequest",
    "coproduction_termsacceptance",
    "coproduction_contract",
    "subscriptions_recurrence",
    "subscriptions_subscriptionevent",
    "subscriptions_paymentattempt",
    "products_refund",
    "products_sale",
    "subscriptions_subscription",
    "products_affiliation",
    "products_plan",
    "products_product",
    "accounts_notification",
    "accounts_accountvalidation",
    "account_emailaddress",
    "django_session",
    "accounts_user",
)


@dataclass(frozen=True)
class People:
    """Who the benchmark logs in as and the objects their pages are about."""

    producer: int
    cocreator: int
    buyer: int
    course: int  # the product with 30 cocreators (one-time)
    club: int  # the subscription product
    contract: int  # the cocreator's contract on the course (Change History)


def dataset_key(scale: int) -> str:
    return f"v{VERSION} scale={scale}"


def cached(scale: int) -> People | None:
    """The people of a data set built before with the same parameters, if the database has it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [MARKER_TABLE])
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(
            f"SELECT producer, cocreator, buyer, course, club, contract FROM {MARKER_TABLE} "
            "WHERE key = %s",
            [dataset_key(scale)],
        )
        row = cursor.fetchone()
    return People(*row) if row else None


def build(scale: int, *, log=print) -> People:
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import AccountValidation, Notification, User
    from coproduction.models import ChangeRequest, Contract, TermsOfUse
    from products.models import Affiliation, Plan, Product, Sale
    from subscriptions.models import Recurrence, Subscription

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {MARKER_TABLE}")
        cursor.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    now = timezone.now()
    long_ago = now - timedelta(days=400)
    terms, _ = TermsOfUse.objects.get_or_create(version=1, defaults={"body": "Terms"})

    def people(prefix: str, count: int, name: str) -> list[User]:
        return User.objects.bulk_create(
            User(
                email=f"{prefix}{i}@web.bench",
                full_name=f"{name} {i}",
                password="!",
                date_joined=long_ago,
            )
            for i in range(count)
        )

    producer = people("producer", 1, "Producer")[0]
    cocreators = people("cocreator", COCREATORS, "Cocreator")
    affiliates = people("affiliate", AFFILIATES, "Affiliate")
    buyers = people("buyer", BUYERS, "Buyer")
    AccountValidation.objects.bulk_create(
        AccountValidation(
            user=user,
            legal_name=user.full_name,
            country="BR",
            tax_document="123.456.789-09",
            status=AccountValidation.Status.VALIDATED,
            decided_at=long_ago,
        )
        for user in [producer, *cocreators, *affiliates]
    )

    products = Product.objects.bulk_create(
        Product(
            producer=producer,
            name=f"Course {i}" if i != 1 else "Club",
            description="A digital product of the benchmark.",
            kind=Product.Kind.SUBSCRIPTION if i == 1 else Product.Kind.ONE_TIME,
            price_minor=None if i == 1 else PRICE_MINOR,
            affiliate_commission_percent=Decimal("20"),
            created_at=long_ago,
        )
        for i in range(PRODUCTS)
    )
    course, club, others = products[0], products[1], products[2:]
    plan = Plan.objects.create(product=club, name="Monthly", price_minor=PLAN_PRICE_MINOR)
    affiliations = Affiliation.objects.bulk_create(
        Affiliation(
            product=course,
            affiliate=affiliate,
            status=Affiliation.Status.APPROVED,
            commission_percent=Decimal("20"),
            requested_at=long_ago,
            decided_at=long_ago,
        )
        for affiliate in affiliates
    )
    contracts = Contract.objects.bulk_create(
        [
            Contract(
                product=course,
                cocreator=cocreator,
                role=Contract.Role.choices[i % len(Contract.Role.choices)][0],
                status=Contract.Status.ACTIVE,
                sales_scope=Contract.SalesScope.ALL,
                commission_percent=Decimal("1.5"),
                coproduction_model=Contract.CoproductionModel.choices[0][0],
                terms=terms,
                invited_at=long_ago,
                last_sent_at=long_ago,
                accepted_at=long_ago,
            )
            for i, cocreator in enumerate(cocreators)
        ]
        + [
            Contract(
                product=club,
                cocreator=cocreators[0],
                role=Contract.Role.choices[0][0],
                status=Contract.Status.ACTIVE,
                sales_scope=Contract.SalesScope.ALL,
                commission_percent=Decimal("10"),
                coproduction_model=Contract.CoproductionModel.choices[0][0],
                terms=terms,
                invited_at=long_ago,
                last_sent_at=long_ago,
                accepted_at=long_ago,
            )
        ]
    )
    contract = contracts[0]
    ChangeRequest.objects.bulk_create(
        ChangeRequest(
            contract=contract,
            kind=ChangeRequest.Kind.CHANGE,
            status=ChangeRequest.Status.REFUSED,
            before={"commission_percent": "1.50"},
            after={"commission_percent": f"{2 + i % 5}.00"},
            requested_by=producer if i % 2 else cocreators[0],
            requested_at=long_ago + timedelta(days=i),
            responded_by=cocreators[0] if i % 2 else producer,
            responded_at=long_ago + timedelta(days=i, hours=3),
        )
        for i in range(CHANGES)
    )
    Notification.objects.bulk_create(
        Notification(
            recipient=person,
            kind=Notification.Kind.RECEIPT,
            key=f"bench-{i}",
            params={"amount_minor": PRICE_MINOR, "currency": "BRL", "product": course.name},
            path=f"/p/{course.pk}/",
            created_at=now - timedelta(hours=i),
            read_at=None if i % 3 else now,
        )
        for person in (producer, cocreators[0], buyers[0])
        for i in range(NOTIFICATIONS)
    )

    one_time, subscriptions = ONE_TIME_SALES * scale, SUBSCRIPTIONS * scale
    first_buyer = buyers[0].pk
    template = Sale.objects.create(
        product=course,
        buyer=buyers[0],
        amount_minor=PRICE_MINOR,
        currency="BRL",
        method="card",
        country="BR",
        status=Sale.Status.PAID,
        paid_at=now,
        checkout_key="bench-template",
    )
    other_ids = ", ".join(str(p.pk) for p in others)
    affiliation_ids = ", ".join(str(a.pk) for a in affiliations)
    # Two fifths of the one-time sales are the course's (a fifth of those through an
    # affiliate), the rest spread over the 18 other one-time products; over the last year.
    _clone(
        Sale,
        template.pk,
        one_time,
        {
            "product_id": f"CASE WHEN n %% 5 < 2 THEN {course.pk} "
            f"ELSE (ARRAY[{other_ids}])[n %% {len(others)} + 1] END",
            "affiliation_id": f"CASE WHEN n %% 25 = 0 "
            f"THEN (ARRAY[{affiliation_ids}])[n %% {AFFILIATES} + 1] END",
            "buyer_id": f"{first_buyer} + n %% {BUYERS}",
            "paid_at": SPREAD_OVER_A_YEAR,
            "created_at": SPREAD_OVER_A_YEAR,
            "checkout_key": "'one-' || n",
        },
    )
    # Subscriptions to the club, each anchored in the last month, six months ago.
    sub_template = Subscription.objects.create(
        product=club,
        plan=plan,
        buyer=buyers[0],
        status=Subscription.Status.ACTIVE,
        method="card",
        country="BR",
        payment_token="4242424242424242",
        payment_label="Visa •••• 4242",
        anchor_date=now.date(),
        last_number=RECURRENCES,
        paid_count=RECURRENCES,
        next_charge_date=now.date(),
        checkout_key="bench-sub-template",
        created_at=now,
    )
    # Day 1..28 of the month six months ago; charged monthly since, the next one due ahead.
    anchor = "(date_trunc('month', now()) - interval '6 months')::date + (n %% 28)"
    _clone(
        Subscription,
        sub_template.pk,
        subscriptions,
        {
            "buyer_id": f"{first_buyer} + n %% {BUYERS}",
            "anchor_date": anchor,
            "next_charge_date": f"({anchor} + interval '{RECURRENCES} months')::date",
            "created_at": f"({anchor})::timestamptz",
            "checkout_key": "'sub-' || n",
        },
    )
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM subscriptions_subscription WHERE id = %s", [sub_template.pk])
        # One paid sale per recurrence (numbers 1..6), then the recurrences pointing at them.
        cursor.execute(
            f"""
            INSERT INTO products_sale ({_columns(Sale, "id")})
            SELECT {
                _select(
                    Sale,
                    {
                        "product_id": str(club.pk),
                        "buyer_id": "s.buyer_id",
                        "affiliation_id": "NULL",
                        "amount_minor": str(PLAN_PRICE_MINOR),
                        "subscription_id": "s.id",
                        "paid_at": "(s.anchor_date + (k - 1) * interval '1 month')::timestamptz"
                        " + interval '9 hours'",
                        "created_at": "(s.anchor_date + (k - 1) * interval '1 month')::timestamptz"
                        " + interval '9 hours'",
                        "checkout_key": "'rec-' || s.id || '-' || k",
                    },
                )
            }
              FROM products_sale t, subscriptions_subscription s,
                   generate_series(1, {RECURRENCES}) k
             WHERE t.id = %s
            """,
            [template.pk],
        )
        cursor.execute(
            f"""
            INSERT INTO subscriptions_recurrence
                   (subscription_id, number, due_date, amount_minor, status, sale_id,
                    attempts_made, window_closes_at, slip_code, paid_at, created_at)
            SELECT s.subscription_id, k, (s.paid_at AT TIME ZONE 'UTC')::date,
                   {PLAN_PRICE_MINOR}, 'paid', s.id, 1, s.paid_at + interval '5 days', '',
                   s.paid_at, s.paid_at
              FROM products_sale s,
                   LATERAL (SELECT split_part(s.checkout_key, '-', 3)::int AS k) AS number
             WHERE s.checkout_key LIKE 'rec-%%'
            """
        )
        cursor.execute("DELETE FROM products_sale WHERE id = %s", [template.pk])
        cursor.execute("ANALYZE")
    log(
        f"  rows cloned in {time.perf_counter() - started:.1f} s: "
        f"{Sale.objects.count()} sales, {Subscription.objects.count()} subscriptions, "
        f"{Recurrence.objects.count()} recurrences"
    )

    from coproduction.services.ledger import ledger_write_splits

    split_started = time.perf_counter()
    ids = list(Sale.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), SPLIT_BATCH):
        with transaction.atomic():
            ledger_write_splits(sale_ids=ids[start : start + SPLIT_BATCH])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*) FROM coproduction_ledgerentry")
        entries = cursor.fetchone()[0]
    log(f"  {entries} ledger entries split in {time.perf_counter() - split_started:.1f} s")

    result = People(
        producer=producer.pk,
        cocreator=cocreators[0].pk,
        buyer=buyers[0].pk,
        course=course.pk,
        club=club.pk,
        contract=contract.pk,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {MARKER_TABLE} (key text PRIMARY KEY, producer int, cocreator int, "
            "buyer int, course int, club int, contract int)"
        )
        cursor.execute(
            f"INSERT INTO {MARKER_TABLE} VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                dataset_key(scale),
                result.producer,
                result.cocreator,
                result.buyer,
                result.course,
                result.club,
                result.contract,
            ],
        )
    return result


def _columns(model, *leave_out: str) -> str:
    return ", ".join(_column_names(model, *leave_out))


def _column_names(model, *leave_out: str) -> list[str]:
    return [f.column for f in model._meta.concrete_fields if f.column not in leave_out]


def _select(model, own: dict[str, str]) -> str:
    """Every column but the id: the template row's (t.) unless `own` gives an expression."""
    return ", ".join(own.get(c, f"t.{c}") for c in _column_names(model, "id"))


def _clone(model, template_pk: int, count: int, own: dict[str, str]) -> None:
    """`count` copies of the template row, numbered n = 1..count in the `own` expressions."""
    from django.db import connection

    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({_columns(model, 'id')}) "
            f"SELECT {_select(model, own)} FROM {table} t, generate_series(1, %s) n "
            "WHERE t.id = %s",
            [count, template_pk],
        )
