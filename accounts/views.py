"""Account screens: the dashboard, the account validation request, the header's language
switcher, the account settings and the payout accounts."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from accounts import payout_accounts, services
from accounts.exceptions import DomainError
from accounts.forms import AccountSettingsForm, LanguageForm, PayoutAccountForm, ValidationForm
from accounts.locales import local_date, user_zone
from accounts.models import AccountValidation, User
from accounts.tax_documents import tax_document_display


def home(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    return render(request, "home.html")


# How many items each dashboard list shows; one more is read to know whether to link "more".
DASHBOARD_ITEMS = 8


@login_required
def dashboard(request):
    """One section per role the person has, producer first: each composes its app's selectors
    in a fixed number of queries, whatever the number of sales, subscriptions or contracts.
    Months and dates are the viewer's (their zone's local month)."""
    user = request.user
    zone = user_zone(user)
    today = local_date(user)
    roles = _roles(user)
    context = {"validation": getattr(user, "validation", None)}
    if roles["producer"]:
        context["producer"] = _producer_section(user, zone, today)
    if roles["cocreator"]:
        context["cocreator"] = _cocreator_section(user, zone, today)
    if roles["buyer"]:
        context["buyer"] = _buyer_section(user)
    return render(request, "accounts/dashboard.html", context)


# Read on every visit to the dashboard: three EXISTS and the validation row in one statement,
# written out (the ORM took ~2.5 ms to build and compile it for a 0.1 ms query).
_ROLES_SQL = """
SELECT EXISTS (SELECT 1 FROM {product} WHERE producer_id = %(user)s),
       EXISTS (SELECT 1 FROM {contract}
                WHERE cocreator_id = %(user)s AND NOT status = ANY(%(gone)s)),
       EXISTS (SELECT 1 FROM {sale} WHERE buyer_id = %(user)s)
       OR EXISTS (SELECT 1 FROM {subscription} WHERE buyer_id = %(user)s),
       {validation_columns}
  FROM (SELECT 1) AS one
  LEFT JOIN {validation} v ON v.user_id = %(user)s
"""


def _roles(user) -> dict[str, bool]:
    """Which sections apply, in one query: producer (has a product), cocreator (invited, or
    has or had a contract; a declined or withdrawn invitation alone is not), buyer (bought or
    subscribed). The same query reads the person's validation request (the page shows its
    status), kept on `user` as `user.validation` would."""
    from django.db import connection

    from coproduction.models import Contract
    from products.models import Product, Sale
    from subscriptions.models import Subscription

    fields = AccountValidation._meta.concrete_fields
    sql = _ROLES_SQL.format(
        product=Product._meta.db_table,
        contract=Contract._meta.db_table,
        sale=Sale._meta.db_table,
        subscription=Subscription._meta.db_table,
        validation=AccountValidation._meta.db_table,
        validation_columns=", ".join(f"v.{field.column}" for field in fields),
    )
    gone = [Contract.Status.DECLINED.value, Contract.Status.CANCELED.value]
    with connection.cursor() as cursor:
        cursor.execute(sql, {"user": user.pk, "gone": gone})
        producer, cocreator, buyer, *values = cursor.fetchone()
    validation = None
    if values[fields.index(AccountValidation._meta.pk)] is not None:  # they have a request
        for index, field in enumerate(fields):
            for converter in field.get_db_converters(connection):
                values[index] = converter(values[index], field, connection)
        validation = AccountValidation.from_db(
            connection.alias, [field.attname for field in fields], values
        )
        AccountValidation.user.field.set_cached_value(validation, user)
    User.validation.related.set_cached_value(user, validation)
    return {"producer": producer, "cocreator": cocreator, "buyer": buyer}


def _first(queryset, count: int = DASHBOARD_ITEMS) -> tuple[list, bool]:
    """The first `count` rows, and whether there are more (one query)."""
    rows = list(queryset[: count + 1])
    return rows[:count], len(rows) > count


def _producer_section(user, zone, today) -> dict:
    from datetime import timedelta

    from django.utils import timezone

    from coproduction import selectors as coproduction
    from products import reports
    from subscriptions import selectors as subscriptions

    now = timezone.now()
    month_start = reports.local_midnight(reports.month_start(today), zone)
    waiting = coproduction.producer_waiting(
        producer=user,
        since=now - timedelta(days=coproduction.ANSWERED_DAYS),
        count=DASHBOARD_ITEMS,
    )
    report = reports.producer_report(producer=user, zone=zone, today=today)
    figures = subscriptions.producer_figures(producer=user, month_start=month_start, now=now)
    return {
        "report": report,
        # With no sale this month the top list is empty: the products themselves, then.
        "products": [] if report.top_products else _products(user),
        "mrr": figures.mrr,
        "subscribers": figures.subscribers,
        "recoverable": figures.recoverable,
        "terminations": waiting.terminations,
        "more_terminations": waiting.more_terminations,
        "answered": waiting.answered,
        "more_answered": waiting.more_answered,
        "affiliations": waiting.affiliations,
        "more_affiliations": waiting.more_affiliations,
        "answered_days": coproduction.ANSWERED_DAYS,
        "figures_timeout": reports.FIGURES_TIMEOUT,
    }


def _products(user) -> list:
    from coproduction.selectors import products_for_producer

    return list(products_for_producer(producer=user)[:5])


def _cocreator_section(user, zone, today) -> dict:
    from coproduction import selectors as coproduction
    from products import reports

    waiting = coproduction.cocreator_waiting(cocreator=user, count=DASHBOARD_ITEMS)
    return {
        "earnings": reports.cocreator_earnings_by_contract(user=user, zone=zone, today=today),
        "contracts": waiting.contracts,
        "more_contracts": waiting.more_contracts,
        "invitations": waiting.invitations,
        "more_invitations": waiting.more_invitations,
        "changes": waiting.changes,
        "terminations": waiting.terminations,
    }


def _buyer_section(user) -> dict:
    from django.utils import timezone

    from products.selectors import purchases_for_buyer
    from subscriptions import selectors as subscriptions

    purchases, more_purchases = _first(
        purchases_for_buyer(buyer=user).filter(subscription__isnull=True), 5
    )
    slips, more_slips = _first(subscriptions.slips_to_pay(buyer=user, now=timezone.now()))
    to_update, more_to_update = _first(subscriptions.payments_to_update(buyer=user))
    return {
        "purchases": purchases,
        "more_purchases": more_purchases,
        "subscriptions": subscriptions.buyer_subscriptions(buyer=user),
        "to_update": to_update,
        "more_to_update": more_to_update,
        "slips": slips,
        "more_slips": more_slips,
    }


@login_required
@require_http_methods(["GET", "POST"])
def validation(request):
    current = AccountValidation.objects.filter(user=request.user).first()
    can_submit = current is None or current.status == AccountValidation.Status.REJECTED
    form = ValidationForm(request.POST or None, instance=None, initial=_initial(current))
    if request.method == "POST" and can_submit and form.is_valid():
        try:
            services.validation_submit(user=request.user, **form.cleaned_data)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Thanks! Your data was sent for review."))
            return redirect("accounts:validation")
    elif request.method == "POST" and not can_submit:
        messages.error(request, _("Your data is already under review or validated."))
        return redirect("accounts:validation")
    return render(
        request,
        "accounts/validation.html",
        {
            "validation": current,
            "form": form,
            "can_submit": can_submit,
            "tax_document": _tax_document(current),
        },
    )


def _initial(current: AccountValidation | None) -> dict:
    if current is None:
        return {}
    return {
        "legal_name": current.legal_name,
        "country": current.country,
        "tax_document": _tax_document(current),
    }


def _tax_document(current: AccountValidation | None) -> str:
    if current is None:
        return ""
    return tax_document_display(country=current.country, number=current.tax_document)


@require_POST
def language(request):
    """The header's switcher, for anyone: the cookie keeps the choice for this browser (also
    after logging out); a logged-in user's account keeps it everywhere and in their emails."""
    form = LanguageForm(request.POST, request=request)
    if not form.is_valid():
        messages.error(request, _("Choose one of the offered languages."))
        return redirect(form.cleaned_data.get("next") or "home")
    code = form.cleaned_data["language"]
    if request.user.is_authenticated:
        services.user_settings_update(user=request.user, language=code)
    response = redirect(form.cleaned_data["next"] or "home")
    _remember_language(response, code)
    return response


@login_required
@require_http_methods(["GET", "POST"])
def account_settings(request):
    user = request.user
    form = AccountSettingsForm(
        request.POST or None, initial={"language": user.language, "time_zone": user.time_zone}
    )
    if request.method == "POST" and form.is_valid():
        services.user_settings_update(user=user, **form.cleaned_data)
        # Said in the language just chosen: the next page is in it too.
        with translation.override(form.cleaned_data["language"]):
            messages.success(request, _("Settings saved."))
        response = redirect("accounts:settings")
        _remember_language(response, form.cleaned_data["language"])
        return response
    return render(request, "accounts/settings.html", {"form": form})


def _remember_language(response, code: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


@login_required
@require_http_methods(["GET", "POST"])
def payout_account(request):
    """The person's payout accounts (masked) and the form that adds or replaces one, confirmed
    with their password (and authenticator code). Only a validated account may have one."""
    user = request.user
    validation = AccountValidation.objects.filter(user=user).first()
    if validation is None or not validation.is_validated:
        if request.method == "POST":
            messages.error(request, _("Payout accounts need a validated account."))
            return redirect("accounts:payout_account")
        return render(request, "accounts/payout_account.html", {"validation": validation})
    form = PayoutAccountForm(
        request.POST or None,
        user=user,
        validation=validation,
        initial={
            "kind": _KIND_FOR_COUNTRY.get(str(validation.country), "iban"),
            "holder_name": validation.legal_name,
            "holder_document": _tax_document(validation),
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            account = payout_accounts.payout_account_save(user=user, data=form.payout_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if account.withdrawals_held_until:
                hours = payout_accounts.change_hold_hours()
                messages.success(
                    request,
                    ngettext(
                        "Payout account changed. We emailed you about it, and withdrawals to it "
                        "are held for %(hours)s hour.",
                        "Payout account changed. We emailed you about it, and withdrawals to it "
                        "are held for %(hours)s hours.",
                        hours,
                    )
                    % {"hours": hours},
                )
            else:
                messages.success(request, _("Payout account added."))
            return redirect("accounts:payout_account")
    return render(
        request,
        "accounts/payout_account.html",
        {
            "validation": validation,
            "accounts": payout_accounts.payout_accounts_active(user=user),
            "mfa_enabled": payout_accounts.mfa_enabled(user),
            "hold_hours": payout_accounts.change_hold_hours(),
            "form": form,
        },
    )


# The kind the form starts on: the one of the validated country's currency.
_KIND_FOR_COUNTRY = {"BR": "pix", "MX": "clabe", "CO": "co_bank"}
