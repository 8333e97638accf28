"""Producer screens (My Products, product form, plans, affiliates) and the public product page."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.exceptions import DomainError
from accounts.guards import validated_account_required
from config.htmx import render_page_or_partial
from config.paginate import paginate
from products import selectors, services
from products.forms import AffiliationCommissionForm, PlanForm, ProductForm
from products.models import Affiliation, Product
from products.views.sales import affiliate_cookie_name


@login_required
def my_products(request):
    page = paginate(request, selectors.product_list_for_producer(producer=request.user))
    return render(
        request, "products/my_products.html", {"page": page, "products": page.object_list}
    )


@validated_account_required
@require_http_methods(["GET", "POST"])
def product_create(request):
    form = ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        product = services.product_create(producer=request.user, **form.cleaned_data)
        messages.success(request, _("“%(name)s” was created.") % {"name": product.name})
        if product.is_subscription:
            messages.info(request, _("Now add at least one plan so buyers can subscribe."))
            return redirect("products:plans", pk=product.pk)
        return redirect("products:my_products")
    return render(request, "products/product_form.html", {"form": form, "product": None})


@validated_account_required
@require_http_methods(["GET", "POST"])
def product_edit(request, pk: int):
    product = selectors.product_get_for_producer(producer=request.user, pk=pk)
    form = ProductForm(request.POST or None, instance=product)
    if request.method == "POST" and form.is_valid():
        try:
            services.product_update(product=product, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Product saved."))
            return redirect("products:my_products")
    # The form mutates its instance while validating; show the saved name in the heading.
    product.refresh_from_db()
    return render(request, "products/product_form.html", {"form": form, "product": product})


@validated_account_required
@require_http_methods(["GET", "POST"])
def plans(request, pk: int):
    product = selectors.product_get_for_producer(producer=request.user, pk=pk)
    if not product.is_subscription:
        messages.info(request, _("Plans are for subscription products."))
        return redirect("products:edit", pk=product.pk)
    form = PlanForm(request.POST or None, product=product)
    if request.method == "POST":
        if form.is_valid():
            plan = services.plan_create(product=product, **form.cleaned_data)
            messages.success(request, _("Plan “%(name)s” added.") % {"name": plan.name})
            if request.htmx:
                form = PlanForm(product=product)
            else:
                return redirect("products:plans", pk=product.pk)
        context = {"product": product, "plans": selectors.plan_list(product=product), "form": form}
        return render_page_or_partial(request, "products/plans.html", "plans-panel", context)
    context = {"product": product, "plans": selectors.plan_list(product=product), "form": form}
    return render(request, "products/plans.html", context)


@validated_account_required
@require_http_methods(["GET", "POST"])
def plan_edit(request, pk: int, plan_pk: int):
    product = selectors.product_get_for_producer(producer=request.user, pk=pk)
    plan = get_object_or_404(product.plans, pk=plan_pk)
    form = PlanForm(request.POST or None, instance=plan, product=product)
    if request.method == "POST" and form.is_valid():
        services.plan_update(plan=plan, **form.cleaned_data)
        messages.success(request, _("Plan saved."))
        return redirect("products:plans", pk=product.pk)
    plan.refresh_from_db()
    return render(
        request, "products/plan_form.html", {"product": product, "plan": plan, "form": form}
    )


@validated_account_required
def affiliates(request, pk: int):
    product = selectors.product_get_for_producer(producer=request.user, pk=pk)
    page = paginate(request, selectors.affiliation_list_for_product(product=product))
    context = {"product": product, "page": page, "affiliations": page.object_list}
    return render(request, "products/affiliates.html", context)


# The status each action moves to, and the whole sentence that confirms it.
AFFILIATION_ACTIONS = {
    "approve": (Affiliation.Status.APPROVED, gettext_lazy("%(email)s approved.")),
    "refuse": (Affiliation.Status.REFUSED, gettext_lazy("%(email)s refused.")),
    "revoke": (Affiliation.Status.REVOKED, gettext_lazy("%(email)s revoked.")),
}


@validated_account_required
@require_POST
def affiliation_decide(request, pk: int, affiliation_pk: int, action: str):
    product = selectors.product_get_for_producer(producer=request.user, pk=pk)
    affiliation = get_object_or_404(
        product.affiliations.select_related("affiliate"), pk=affiliation_pk
    )
    if action not in AFFILIATION_ACTIONS:
        raise Http404
    to, done = AFFILIATION_ACTIONS[action]
    try:
        affiliation = services.affiliation_decide(
            affiliation=affiliation, to=to, actor=request.user
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done % {"email": affiliation.affiliate.email})
    return _affiliation_row_or_redirect(request, product, affiliation)


@validated_account_required
@require_POST
def affiliation_commission(request, pk: int, affiliation_pk: int):
    product = selectors.product_get_for_producer(producer=request.user, pk=pk)
    affiliation = get_object_or_404(
        product.affiliations.select_related("affiliate"), pk=affiliation_pk
    )
    form = AffiliationCommissionForm(request.POST, instance=affiliation)
    if form.is_valid():
        services.affiliation_set_commission(
            affiliation=affiliation,
            percent=form.cleaned_data["commission_percent"],
            actor=request.user,
        )
        messages.success(request, _("Commission saved."))
    else:
        affiliation.refresh_from_db()
        messages.error(request, "; ".join(form.errors["commission_percent"]))
    return _affiliation_row_or_redirect(request, product, affiliation)


def _affiliation_row_or_redirect(request, product: Product, affiliation: Affiliation):
    if request.htmx:
        return render_page_or_partial(
            request,
            "products/affiliates.html",
            "affiliation-row",
            {"product": product, "affiliation": affiliation},
        )
    return redirect("products:affiliates", pk=product.pk)


def public(request, pk: int):
    product = selectors.product_get_public(pk=pk)
    affiliation = None
    if request.user.is_authenticated:
        affiliation = product.affiliations.filter(affiliate=request.user).first()
    context = {
        "product": product,
        "plans": product.plans.filter(is_active=True),
        "affiliation": affiliation,
    }
    response = render(request, "products/public.html", context)
    code = request.GET.get("a", "").strip()
    if code and len(code) <= 16:
        # Last click wins: a new affiliate link replaces the remembered one for 30 days.
        response.set_cookie(
            affiliate_cookie_name(product.pk),
            code,
            max_age=settings.AFFILIATE_COOKIE_DAYS * 24 * 3600,
            samesite="Lax",
            httponly=True,
            secure=settings.AFFILIATE_COOKIE_SECURE,
        )
    return response


@validated_account_required
@require_POST
def affiliation_request(request, pk: int):
    product = selectors.product_get_public(pk=pk)
    try:
        services.affiliation_request(product=product, user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your request was sent to the producer."))
    return redirect("products:public", pk=product.pk)


@login_required
def my_affiliations(request):
    page = paginate(request, selectors.affiliation_list_for_user(user=request.user))
    return render(
        request,
        "products/my_affiliations.html",
        {"page": page, "affiliations": page.object_list},
    )
