"""Buying: checkout for one-time products, the buyer's purchases and refunds; the producer's
refunds."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_http_methods

from accounts.exceptions import DomainError
from config.htmx import redirect_page, render_page_or_partial
from config.paginate import paginate
from products import selectors
from products.forms import CheckoutForm, RefundForm
from products.models import Product, Refund, Sale
from products.money import to_major, to_minor
from products.payments import keys, limits
from products.payments.methods import Method
from products.payments.slips import is_cash, slip_pending
from products.services import sales as services
from products.views.widgets import FastSelect

AFFILIATE_COOKIE = "coprod_aff_{pk}"


def affiliate_cookie_name(product_pk: int) -> str:
    return AFFILIATE_COOKIE.format(pk=product_pk)


@login_required
@require_http_methods(["GET", "POST"])
def checkout(request, pk: int):
    product = selectors.product_get_public(pk=pk)
    if product.kind != Product.Kind.ONE_TIME:
        messages.info(request, _("Choose a plan to subscribe to this product."))
        return redirect("products:public", pk=product.pk)
    refresh = request.method == "POST" and request.POST.get("_refresh")
    refused = None
    if request.method == "POST" and not refresh:
        form = CheckoutForm(request.POST)
        if form.is_valid() and not (refused := limits.form_admit(request, form)):
            response = _pay(request, product, form)
            if response is not None:
                return response
    elif refresh:
        form = CheckoutForm(initial=request.POST.dict())
    else:
        validation = getattr(request.user, "validation", None)
        form = CheckoutForm(
            initial={
                "country": validation.country.code if validation else "BR",
                "checkout_key": keys.checkout_token_new(buyer_id=request.user.pk),
            }
        )
    affiliation = services.affiliation_for_code(
        product=product,
        code=request.COOKIES.get(affiliate_cookie_name(product.pk)),
        buyer=request.user,
    )
    country = form.fields["country"]
    country.widget = FastSelect(attrs=country.widget.attrs, choices=country.choices)
    country.widget.is_required = country.required
    context = {"product": product, "form": form, "affiliation": affiliation}
    return limits.respond(
        render_page_or_partial(request, "products/checkout.html", "checkout-form", context),
        refused,
    )


def _pay(request, product: Product, form: CheckoutForm):
    data = form.cleaned_data
    try:
        sale = services.sale_start(
            product=product,
            buyer=request.user,
            method=data["method"],
            country=data["country"],
            affiliate_code=request.COOKIES.get(affiliate_cookie_name(product.pk)),
            checkout_token=data["checkout_key"],
        )
        if sale.is_paid:
            messages.info(request, _("This purchase is already paid; you were not charged again."))
            return redirect_page(request, "products:purchase", pk=sale.pk)
        sale = services.sale_pay(sale=sale, token=data["card_number"])
    except DomainError as exc:
        form.add_error(None, exc.message)
        return None
    if sale.status == Sale.Status.PAID:
        messages.success(
            request, _("Thank you! You bought %(product)s.") % {"product": product.name}
        )
    else:
        messages.info(
            request, _("Your payment was issued. The purchase completes when it is confirmed.")
        )
    return redirect_page(request, "products:purchase", pk=sale.pk)


@login_required
def purchases(request):
    page = paginate(request, selectors.purchases_for_buyer(buyer=request.user))
    context = {
        "page": page,
        "sales": page.object_list,
        # A pending sale paid by one of these has a slip page (it says when it has expired).
        "cash_methods": [m for m in Method.values if is_cash(m)],
    }
    return render(request, "products/purchases.html", context)


@login_required
def purchase(request, pk: int):
    sale = get_object_or_404(
        selectors.purchases_for_buyer(buyer=request.user).select_related(
            "subscription__plan", "recurrence"
        ),
        pk=pk,
    )
    return render(request, "products/purchase.html", {"sale": sale, "slip": slip_pending(sale)})


@login_required
def slip(request, pk: int):
    """The cash slip of one of the buyer's sales (a one-time purchase or a recurrence): what to
    pay, by when, and the line to copy. Nobody else's sale is found."""
    sale = get_object_or_404(
        selectors.purchases_for_buyer(buyer=request.user).select_related("recurrence"), pk=pk
    )
    context = {"sale": sale, "slip": slip_pending(sale), "is_cash": is_cash(sale.method)}
    return render(request, "products/slip.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def purchase_refund(request, pk: int):
    """The buyer asks for a refund (the whole remainder) within the guarantee period."""
    sale = get_object_or_404(selectors.purchases_for_buyer(buyer=request.user), pk=pk)
    if request.method == "POST":
        try:
            refund = services.sale_refund(
                sale=sale,
                actor=request.user,
                # Stored in English on the refund; translated where it is shown.
                reason=gettext_noop("Requested by the buyer"),
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            _refund_message(
                request, refund, _("Refund done. The money goes back to your payment method.")
            )
        return redirect("products:purchase", pk=sale.pk)
    if not sale.refundable_minor:  # do not offer to give back nothing
        messages.info(request, _("Nothing is left to refund on this purchase."))
        return redirect("products:purchase", pk=sale.pk)
    return render(request, "products/purchase_refund.html", {"sale": sale})


@login_required
@require_http_methods(["GET", "POST"])
def sale_refund(request, pk: int):
    """The producer refunds all or part of a sale, at any time."""
    sale = get_object_or_404(selectors.sales_for_producer(producer=request.user), pk=pk)
    form = RefundForm(
        request.POST or None, initial={"amount": to_major(sale.refundable_minor, sale.currency)}
    )
    if request.method == "POST" and form.is_valid():
        try:
            amount = to_minor(form.cleaned_data["amount"], sale.currency)
            refund = services.sale_refund(
                sale=sale,
                actor=request.user,
                amount_minor=amount,
                reason=form.cleaned_data["reason"],
            )
        except (DomainError, ValueError) as exc:
            form.add_error("amount", getattr(exc, "message", str(exc)))
        else:
            _refund_message(request, refund, _("Refund done."))
            return redirect("products:sales")
    return render(request, "products/sale_refund.html", {"sale": sale, "form": form})


def _refund_message(request, refund, done: str) -> None:
    if refund.status == Refund.Status.SUCCEEDED:
        messages.success(request, done)
    else:
        messages.warning(
            request,
            _(
                "The refund was requested, but the payment service has not confirmed it yet. "
                "It is retried automatically; the sale shows its status."
            ),
        )
