"""Subscription screens: subscribe, My subscriptions (buyer), Subscribers (producer), and the
gateway's webhook."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from markupsafe import Markup, escape

from accounts.exceptions import DomainError
from accounts.guards import validated_account_required
from accounts.locales import day_formatter
from config.feedback import act
from config.htmx import redirect_page, render_page_or_partial
from config.paginate import paginate
from products.money import to_minor
from products.payments import keys, limits
from products.payments.methods import Family, family_of, methods_for_country
from products.payments.slips import slip_pending
from products.selectors import product_get_for_producer, product_get_public
from products.views.sales import affiliate_cookie_name
from subscriptions import selectors
from subscriptions.forms import StatusFilterForm, SubscribeForm, UpdatePaymentForm
from subscriptions.models import Recurrence, Subscription
from subscriptions.services import lifecycle, subscribe
from subscriptions.services.webhooks import signature_valid, webhook_handle


@login_required
@require_http_methods(["GET", "POST"])
def subscribe_view(request, pk: int, plan_pk: int):
    product = product_get_public(pk=pk)
    plan = get_object_or_404(product.plans, pk=plan_pk, is_active=True)
    refresh = request.method == "POST" and request.POST.get("_refresh")
    refused = None
    if request.method == "POST" and not refresh:
        form = SubscribeForm(request.POST)
        if form.is_valid() and not (refused := limits.form_admit(request, form)):
            data = form.cleaned_data
            try:
                second = data.get("second_card_amount")
                subscription = subscribe.subscription_start(
                    plan=plan,
                    buyer=request.user,
                    method=data["method"],
                    country=data["country"],
                    token=data["card_number"],
                    affiliate_code=request.COOKIES.get(affiliate_cookie_name(product.pk)),
                    checkout_token=data["checkout_key"],
                    second_token=data.get("second_card_number", ""),
                    second_amount_minor=to_minor(second, product.currency) if second else None,
                )
            except (DomainError, ValueError) as exc:
                form.add_error(None, getattr(exc, "message", str(exc)))
            else:
                if subscription.status == Subscription.Status.ACTIVE:
                    messages.success(
                        request, _("You subscribed to %(product)s.") % {"product": product.name}
                    )
                else:
                    messages.info(
                        request,
                        _(
                            "Your payment slip or debit was issued. The subscription becomes "
                            "active when it is paid."
                        ),
                    )
                return redirect_page(request, "subscriptions:detail", pk=subscription.pk)
    elif refresh:
        form = SubscribeForm(initial=request.POST.dict())
    else:
        validation = getattr(request.user, "validation", None)
        form = SubscribeForm(
            initial={
                "country": validation.country.code if validation else "BR",
                "checkout_key": keys.checkout_token_new(buyer_id=request.user.pk),
            }
        )
    context = {"product": product, "plan": plan, "form": form}
    return limits.respond(
        render_page_or_partial(request, "subscriptions/subscribe.html", "subscribe-form", context),
        refused,
    )


@login_required
def my_subscriptions(request):
    # A slip still to pay replaces the next charge in the list (one query for all rows).
    awaiting = Prefetch(
        "recurrences", queryset=selectors.recurrences_awaiting_slip(), to_attr="awaiting_slips"
    )
    page = paginate(
        request, selectors.subscriptions_for_buyer(buyer=request.user).prefetch_related(awaiting)
    )
    return render(
        request,
        "subscriptions/my_subscriptions.html",
        {"page": page, "subscriptions": page.object_list},
    )


@login_required
def detail(request, pk: int):
    subscription = selectors.subscription_for_buyer(buyer=request.user, pk=pk)
    form = _payment_form(subscription, initial={"method": subscription.method})
    return render(
        request, "subscriptions/detail.html", _detail_context(request, subscription, form)
    )


def _detail_context(request, subscription: Subscription, form: UpdatePaymentForm) -> dict:
    """The payment form only while there is a card to update (an ended subscription, or one
    paid by slip or debit, has none); the slip still waiting to be paid, if any; a page of the
    charges (newest first) and one of the events, each paged on its own."""
    editable = subscription.can_cancel and family_of(subscription.method) == Family.CARD
    awaiting = selectors.subscription_awaiting_slip(subscription=subscription)
    path = reverse("subscriptions:detail", args=[subscription.pk])
    return {
        "subscription": subscription,
        "form": form if editable else None,
        "slip": slip_pending(awaiting.sale) if awaiting else None,
        "awaiting_slip": awaiting,
        "charges": paginate(
            request,
            selectors.subscription_charges(subscription=subscription),
            param="charges_page",
            path=path,
        ),
        "events": paginate(
            request,
            selectors.subscription_events(subscription=subscription),
            param="events_page",
            path=path,
        ),
    }


def _payment_form(subscription: Subscription, data=None, **kwargs) -> UpdatePaymentForm:
    return UpdatePaymentForm(
        data,
        methods=[
            m
            for m in methods_for_country(subscription.country)
            if family_of(m) == family_of(subscription.method)
        ],
        **kwargs,
    )


@login_required
@require_http_methods(["GET", "POST"])
def cancel(request, pk: int):
    subscription = selectors.subscription_for_buyer(buyer=request.user, pk=pk)
    if request.method == "POST":
        act(
            request,
            lambda: lifecycle.subscription_cancel(subscription=subscription, actor=request.user),
            _("Your subscription was canceled. Nothing more is charged."),
        )
        return redirect("subscriptions:detail", pk=subscription.pk)
    return render(request, "subscriptions/cancel_confirm.html", {"subscription": subscription})


@login_required
@require_POST
def update_payment(request, pk: int):
    subscription = selectors.subscription_for_buyer(buyer=request.user, pk=pk)
    form = _payment_form(subscription, request.POST)
    refused = limits.form_admit(request, form) if form.is_valid() else None
    if not form.is_valid():  # or refused: too many attempts, which the form now says
        return limits.respond(
            render(
                request, "subscriptions/detail.html", _detail_context(request, subscription, form)
            ),
            refused,
        )
    act(
        request,
        lambda: subscribe.subscription_update_payment(
            subscription=subscription,
            actor=request.user,
            method=form.cleaned_data["method"],
            token=form.cleaned_data["card_number"],
        ),
        _("Payment details updated; the next charges use them."),
    )
    return redirect("subscriptions:detail", pk=subscription.pk)


@validated_account_required
def subscribers(request, pk: int):
    product = product_get_for_producer(producer=request.user, pk=pk)
    form = StatusFilterForm(request.GET or None)
    status = form.cleaned_data["status"] if form.is_valid() else ""
    subscriptions = selectors.subscribers_for_product(product=product, status=status)
    # The page is chosen on ids alone, then only its rows are joined and their charges read.
    page = paginate(request, subscriptions.values_list("pk", flat=True))
    ids = list(page.object_list)
    by_pk = {s.pk: s for s in subscriptions.filter(pk__in=ids).order_by()}
    charges = selectors.recent_charges(ids)
    labels = {value: str(label) for value, label in Recurrence.Status.choices}
    title = _("#%(number)s due %(date)s")
    day = day_formatter()
    rows = [_subscriber_row(by_pk[pk], charges[pk], labels, title, day) for pk in ids]
    context = {"product": product, "form": form, "page": page, "subscriptions": rows}
    return render_page_or_partial(
        request, "subscriptions/subscribers.html", "subscriber-list", context
    )


def _subscriber_row(subscription: Subscription, charges, labels: dict, title: str, day) -> dict:
    """What a row of the subscriber list shows, dates and labels written out here: 50 rows of
    up to 12 charges each are too many filter calls and includes for the template. `labels`
    are the charge statuses' and `title` a charge's tooltip, translated once for the page;
    `day` writes a date (accounts.locales.day_formatter, set up once for the page)."""
    plan = subscription.plan
    periodicity = plan.get_periodicity_display()
    status = subscription.get_status_display()
    return {
        "subscription": subscription,
        "since": day(subscription.created_at),
        "plan": plan.name
        if plan.name.lower() == str(periodicity).lower()
        else f"{plan.name} · {periodicity}",
        "status": status,
        "reason": subscription.end_reason_display
        if subscription.end_reason and subscription.end_reason_display != status
        else "",
        "next_charge": day(subscription.next_charge_date)
        if subscription.can_cancel and subscription.next_charge_date
        else "",
        # The badges written out here, escaped as the fragment would (markupsafe): up to 12
        # a row, 600 a page, were most of the fragment's work.
        "charges": Markup(
            "".join(
                f'<span class="badge badge-recurrence-{escape(charge.status)}" '
                f'title="{escape(title % {"number": charge.number, "date": day(charge.due_date)})}"'
                f">#{charge.number} {escape(labels.get(charge.status, charge.status))}</span> "
                for charge in charges
            )
        ),
    }


@validated_account_required
@require_http_methods(["GET", "POST"])
def seller_cancel(request, pk: int, subscription_pk: int):
    product = product_get_for_producer(producer=request.user, pk=pk)
    subscription = get_object_or_404(
        product.subscriptions.select_related("buyer"), pk=subscription_pk
    )
    if request.method == "POST":
        act(
            request,
            lambda: lifecycle.subscription_cancel(subscription=subscription, actor=request.user),
            _("Subscription of %(email)s canceled.") % {"email": subscription.buyer.email},
        )
        return redirect("subscriptions:subscribers", pk=product.pk)
    return render(
        request,
        "subscriptions/seller_cancel_confirm.html",
        {"product": product, "subscription": subscription},
    )


@csrf_exempt
@require_POST
def gateway_webhook(request):
    """POST from the gateway: JSON {"id", "type", "reference"}, signed with HMAC-SHA256 of the
    raw body in the X-Gateway-Signature header."""
    if not signature_valid(request.body, request.headers.get("X-Gateway-Signature", "")):
        return JsonResponse({"error": "bad signature"}, status=400)
    try:
        payload = json.loads(request.body)
        if not isinstance(payload, dict):
            raise ValueError("not an object")
        # PostgreSQL's jsonb and text refuse NUL characters: such an event is malformed.
        if "\\u0000" in request.body.decode("utf-8", "replace") or "\x00" in str(payload):
            raise ValueError("NUL character")
        result = webhook_handle(
            event_id=str(payload.get("id", "")),
            kind=str(payload.get("type", "")),
            reference=str(payload.get("reference", "")),
            payload=payload,
        )
    except (ValueError, AttributeError, UnicodeDecodeError):
        return HttpResponseBadRequest("Body must be a JSON object without NUL characters.")
    except DomainError as exc:
        return JsonResponse({"error": exc.message}, status=422)
    return JsonResponse({"result": result})
