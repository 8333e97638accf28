"""The inbox: every event that asks someone to act or tells them money moved becomes one
Notification per recipient and event, and an email unless the recipient turned that kind off.

`notify` is the one way to tell a person something. It is called inside the service's
transaction: the row and the queued email commit (or roll back) with the event itself, and the
unique (recipient, kind, key) makes a second run of the same task, or a retried request, write
nothing and send nothing.

A title is written when it is read (the inbox, the bell, the email's subject), in the reader's
language, from the kind and the params stored with the row: `KINDS` holds them, once."""

from collections.abc import Callable
from datetime import date

from django.db import connection
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext as _

from accounts.emails import email_person
from accounts.models import Notification, User

Kind = Notification.Kind

# The email template of the kinds that need no words of their own beyond the title's: it shows
# the title, a sentence for the kind and the link (templates/accounts/email/notification.*).
GENERIC_EMAIL = "accounts/email/notification"


def _money(params: dict) -> str:
    from products.money import format_money

    return format_money(params["amount_minor"], params["currency"])


def _day(params: dict, name: str = "date") -> str:
    from accounts.locales import format_day

    return format_day(date.fromisoformat(params[name]))


def _change_answered(p: dict) -> str:
    from coproduction.models import ChangeRequest

    if p["type"] == ChangeRequest.Kind.TERMINATION:
        kind = _("Termination")
    else:
        labels = [str(ChangeRequest.FIELD_LABELS.get(name, name)) for name in p.get("fields", [])]
        kind = ", ".join(labels) or _("Change")
    status = ChangeRequest.Status(p["status"]).label
    return _("%(type)s on %(product)s: %(status)s") % {
        "type": kind,
        "product": p["product"],
        "status": status,
    }


def _invitation(p: dict) -> str:
    if p.get("reminder"):
        return _("Reminder: you are invited to co-produce %(product)s") % p
    return _("%(name)s invited you to co-produce %(product)s") % p


def _invitation_answered(p: dict) -> str:
    if p.get("accepted"):
        return _("%(name)s accepted to co-produce %(product)s") % p
    return _("%(name)s declined to co-produce %(product)s") % p


def _affiliation_decided(p: dict) -> str:
    from products.models import Affiliation

    return _("Your affiliation to %(product)s: %(status)s") % {
        "product": p["product"],
        "status": Affiliation.Status(p["status"]).label,
    }


def _validation(p: dict) -> str:
    if p.get("validated"):
        return _("Your account has been validated")
    return _("Your account validation was rejected")


def _payout(p: dict) -> str:
    amount = {"amount": _money(p)}
    if p["status"] == "paid":
        return _("Your withdrawal of %(amount)s was paid") % amount
    if p["status"] == "rejected":
        return _("Your withdrawal of %(amount)s was rejected") % amount
    return _("Your withdrawal of %(amount)s failed: the money is available again") % amount


# Each kind's title, from the params its notify() call stores. Called in the reader's language.
KINDS: dict[str, Callable[[dict], str]] = {
    Kind.INVITATION: _invitation,
    Kind.INVITATION_CANCELED: lambda p: (
        _("The invitation to co-produce %(product)s was canceled") % p
    ),
    Kind.INVITATION_ANSWERED: _invitation_answered,
    Kind.CHANGE_REQUESTED: lambda p: _("Change proposed to your co-production of %(product)s") % p,
    Kind.TERMINATION_REQUESTED: lambda p: _("Request to end the co-production of %(product)s") % p,
    Kind.REQUEST_ANSWERED: _change_answered,
    Kind.CONTRACT_EXPIRING: lambda p: (
        _("Your co-production of %(product)s ends on %(date)s")
        % {"product": p["product"], "date": _day(p)}
    ),
    Kind.CONTRACT_EXPIRED: lambda p: _("Your co-production of %(product)s has ended") % p,
    Kind.PAYMENT_DECLINED: lambda p: (
        _("Your payment for %(product)s was declined: update your card") % p
    ),
    Kind.SUBSCRIPTION_OVERDUE: lambda p: _("Your subscription to %(product)s is overdue") % p,
    Kind.SUBSCRIPTION_CANCELED: lambda p: _("Your subscription to %(product)s was canceled") % p,
    Kind.SUBSCRIPTION_EXPIRED: lambda p: _("Your subscription to %(product)s has ended") % p,
    Kind.SLIP_ISSUED: lambda p: _("Your payment slip for %(product)s") % p,
    Kind.SLIP_EXPIRING: lambda p: _("Your payment slip for %(product)s expires tomorrow") % p,
    Kind.RECEIPT: lambda p: (
        _("Payment received: %(amount)s for %(product)s")
        % {"amount": _money(p), "product": p["product"]}
    ),
    Kind.RENEWAL_REMINDER: lambda p: (
        _("Your subscription to %(product)s renews on %(date)s for %(amount)s")
        % {"product": p["product"], "date": _day(p), "amount": _money(p)}
    ),
    Kind.REFUND: lambda p: _("Refund of %(amount)s") % {"amount": _money(p)},
    Kind.SALE_REFUNDED: lambda p: (
        _("A sale of %(product)s was refunded: %(amount)s")
        % {"product": p["product"], "amount": _money(p)}
    ),
    Kind.CHARGEBACK: lambda p: (
        _("Chargeback on a sale of %(product)s: %(amount)s")
        % {"product": p["product"], "amount": _money(p)}
    ),
    Kind.NEW_SUBSCRIBER: lambda p: _("%(name)s subscribed to %(product)s") % p,
    Kind.AFFILIATION_REQUESTED: lambda p: _("New affiliation request for %(product)s") % p,
    Kind.AFFILIATION_DECIDED: _affiliation_decided,
    Kind.VALIDATION_DECIDED: _validation,
    Kind.PAYOUT: _payout,
}

# The inbox's filters: each group and the kinds in it.
GROUPS = {
    "coproduction": [
        Kind.INVITATION,
        Kind.INVITATION_CANCELED,
        Kind.INVITATION_ANSWERED,
        Kind.CHANGE_REQUESTED,
        Kind.TERMINATION_REQUESTED,
        Kind.REQUEST_ANSWERED,
        Kind.CONTRACT_EXPIRING,
        Kind.CONTRACT_EXPIRED,
    ],
    "payments": [
        Kind.PAYMENT_DECLINED,
        Kind.SUBSCRIPTION_OVERDUE,
        Kind.SUBSCRIPTION_CANCELED,
        Kind.SUBSCRIPTION_EXPIRED,
        Kind.SLIP_ISSUED,
        Kind.SLIP_EXPIRING,
        Kind.RECEIPT,
        Kind.RENEWAL_REMINDER,
        Kind.REFUND,
    ],
    "sales": [
        Kind.SALE_REFUNDED,
        Kind.CHARGEBACK,
        Kind.NEW_SUBSCRIBER,
        Kind.AFFILIATION_REQUESTED,
        Kind.AFFILIATION_DECIDED,
    ],
    "account": [Kind.VALIDATION_DECIDED, Kind.PAYOUT],
}


def group_label(group: str) -> str:
    return {
        "coproduction": _("Co-production"),
        "payments": _("My purchases and subscriptions"),
        "sales": _("My sales"),
        "account": _("My account"),
    }[group]


def title(kind: str, params: dict) -> str:
    try:
        return KINDS[kind](params)
    except (KeyError, ValueError):  # a row written by an older version: say what it is
        return str(Notification.Kind(kind).label) if kind in Kind.values else kind


def notify(
    user: User,
    kind: str,
    *,
    key: str | int,
    params: dict,
    path: str = "",
    email: str | None = None,
    email_context: dict | Callable[[], dict] | None = None,
    email_path: str | None = None,
) -> bool:
    """Tell `user` once about the event `key` of `kind`: an inbox row linking to `path`, and
    (unless they turned `kind` off) the email `email` (template base name) with
    `email_context` (or what it returns, called only then), linking to `email_path` (default:
    `path`; none when the context brings its own `url`). Returns False, doing nothing,
    when this person was already told about this event."""
    key = str(key)[:120]
    # INSERT … ON CONFLICT DO NOTHING: of two runs of the same task, one writes the row (and
    # queues the email) and the other waits for it, then writes nothing.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {Notification._meta.db_table}
                    (recipient_id, kind, key, params, path, created_at, emailed)
                VALUES (%s, %s, %s, %s::jsonb, %s, %s, %s)
                ON CONFLICT (recipient_id, kind, key) DO NOTHING
                RETURNING id""",
            [
                user.pk,
                kind,
                key,
                _json(params),
                path,
                timezone.now(),
                bool(email) and kind not in user.email_off,
            ],
        )
        if cursor.fetchone() is None:
            return False
    if email and kind not in user.email_off:
        context = email_context() if callable(email_context) else dict(email_context or {})
        # Rendered inside the recipient's language (email_person), so lazily.
        context.update(kind=kind, params=params, title=lazy(title, str)(kind, params))
        if context.get("url"):  # a link of its own (signed): the email keeps it
            email_path = None
        elif email_path is None:
            email_path = path or None
        email_person(
            user,
            subject=lambda: title(kind, params),
            template=email,
            context=context,
            path=email_path,
        )
    return True


def _json(params: dict) -> str:
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    return json.dumps(params, cls=DjangoJSONEncoder)


# --------------------------------------------------------------------------- reading


def unread_count(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def inbox(user: User, *, group: str = "", unread: bool = False):
    queryset = Notification.objects.filter(recipient=user)
    if group in GROUPS:
        queryset = queryset.filter(kind__in=GROUPS[group])
    if unread:
        queryset = queryset.filter(read_at__isnull=True)
    return queryset


def mark_read(user: User, *, pk: int | None = None) -> int:
    """Mark one of `user`'s notifications (or all of them) read; another person's is never
    touched. Returns how many changed."""
    queryset = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if pk is not None:
        queryset = queryset.filter(pk=pk)
    return queryset.update(read_at=timezone.now())


def set_email_off(user: User, kinds: list[str]) -> None:
    user.email_off = sorted(set(kinds) & set(Kind.values))
    user.save(update_fields=["email_off"])
