"""Co-production screens: the producer's (Tools > Co-productions) and the cocreator's
(Products > My Products > I am a cocreator), the shared Change History, and emailed links."""

from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.exceptions import DomainError
from accounts.guards import validated_account_required
from config.feedback import act
from config.htmx import redirect_page, render_page_or_partial
from config.paginate import paginate
from coproduction import selectors
from coproduction.forms import AcceptForm, ChangeForm, ContractTermsForm, InviteForm
from coproduction.models import ChangeRequest, Contract, EmailLink
from coproduction.services import changes, contracts
from coproduction.services.links import LinkSpent, email_link_use
from coproduction.services.shares import ShareTerms
from products.selectors import product_get_for_producer

# ----------------------------------------------------------------------------- producer


@validated_account_required
def index(request):
    """Tools > Co-productions: choose a product and Continue."""
    products = selectors.products_for_producer(producer=request.user)
    chosen = request.GET.get("product")
    if chosen:
        if chosen.isdigit() and products.filter(pk=chosen).exists():
            return redirect("coproduction:product", product_pk=int(chosen))
        messages.error(request, _("Choose one of your products."))
    # A producer with hundreds of products finds one by name, 50 choices at a time.
    search = request.GET.get("q", "").strip()[:100]
    if search:
        products = products.filter(name__icontains=search)
    query = request.GET.copy()
    query.pop("product", None)
    page = paginate(request, products, query=query)
    context = {"page": page, "products": page.object_list, "search": search}
    return render(request, "coproduction/index.html", context)


@validated_account_required
def product_contracts(request, product_pk: int):
    product = product_get_for_producer(producer=request.user, pk=product_pk)
    return render_page_or_partial(
        request, "coproduction/product.html", "contract-list", _contracts_context(request, product)
    )


def _contracts_context(request, product) -> dict:
    """The product's cocreators, a page at a time; an action posted from a row (resend) comes
    back to the page it was on, with links to the product's own address."""
    page = paginate(
        request,
        selectors.contracts_for_product(product=product),
        path=reverse("coproduction:product", args=[product.pk]),
    )
    return {"product": product, "page": page, "contracts": page.object_list}


@validated_account_required
@require_http_methods(["GET", "POST"])
def invite(request, product_pk: int):
    product = product_get_for_producer(producer=request.user, pk=product_pk)
    refresh = request.method == "POST" and request.POST.get("_refresh")
    # An empty POST (no CSRF field when the token travels in a header) must still be judged.
    form = InviteForm(request.POST if request.method == "POST" else None, product=product)
    if request.method == "POST" and not refresh and form.is_valid():
        data = form.cleaned_data
        try:
            contract = contracts.contract_invite(
                product=product,
                actor=request.user,
                cocreator_email=data["cocreator_email"],
                role=data["role"],
                coproduction_model=data["coproduction_model"],
                automatic_sales_recovery=data["automatic_sales_recovery"],
                terms_accepted=data["accept_terms"],
                **form.terms(),
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("Invitation sent to %(email)s.") % {"email": contract.cocreator.email},
            )
            return redirect_page(request, "coproduction:product", product_pk=product.pk)
    return _terms_form_response(
        request,
        "coproduction/invite.html",
        form,
        product=product,
        contract=None,
        refresh=bool(refresh),
        extra={"terms_of_use": selectors.terms_of_use_current()},
    )


@validated_account_required
@require_http_methods(["GET", "POST"])
def propose_change(request, pk: int):
    contract = selectors.contract_get_for_producer(user=request.user, pk=pk)
    product = contract.product
    if contract.status != Contract.Status.ACTIVE:
        messages.error(request, _("Changes can be proposed only on an active contract."))
        return redirect("coproduction:product", product_pk=product.pk)
    refresh = request.method == "POST" and request.POST.get("_refresh")
    form = ChangeForm(
        request.POST if request.method == "POST" else None,
        product=product,
        initial=ChangeForm.initial_for(contract),
    )
    if request.method == "POST" and not refresh and form.is_valid():
        try:
            changes.change_request_propose(contract=contract, actor=request.user, **form.terms())
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request, _("Change proposed. It applies once the cocreator accepts it.")
            )
            return redirect_page(request, "coproduction:history", pk=contract.pk)
    return _terms_form_response(
        request,
        "coproduction/change_form.html",
        form,
        product=product,
        contract=contract,
        refresh=bool(refresh),
    )


def _terms_form_response(request, template, form, *, product, contract, refresh, extra=None):
    """The whole page, or for HTMX the form partial (fields shown for the choices so far and
    the live share preview). A refresh re-renders without judging half-filled input."""
    if refresh:
        form = type(form)(product=product, initial=_initial_from(form))
    context = {
        "form": form,
        "product": product,
        "contract": contract,
        "preview": selectors.share_preview(
            product=product, terms=_preview_terms(form), contract=contract
        ),
        **(extra or {}),
    }
    return render_page_or_partial(request, template, "terms-form", context)


def _initial_from(form: ContractTermsForm) -> dict:
    return {name: form.value(name) for name in form.fields}


def _preview_terms(form: ContractTermsForm) -> ShareTerms | None:
    """Terms from whatever the form holds now; None while the percentage is not a number."""
    probe = ContractTermsForm(
        data=_as_data(form), product=form.product
    )  # lenient: only the share fields matter here
    probe.is_valid()
    data = probe.cleaned_data
    # Above 70 % the field itself refuses the value; the preview still shows what it would do,
    # so the 70 % error appears while typing, not only after Continue.
    percent = data.get("commission_percent") or _number(probe.data.get("commission_percent"))
    if percent is None:
        return None
    scope = data.get("sales_scope") or Contract.SalesScope.ALL
    chosen = data.get("affiliate_choice") == "chosen"
    affiliate_percent = data.get("affiliate_commission_percent")
    if affiliate_percent is None and data.get("specific_affiliate_percent"):
        affiliate_percent = _number(probe.data.get("affiliate_commission_percent"))
    return ShareTerms(
        sales_scope=scope,
        commission_percent=percent,
        affiliate_commission_percent=affiliate_percent,
        all_affiliates=not chosen,
        affiliate_ids=frozenset(a.pk for a in data.get("affiliates") or []),
    )


def _number(text) -> Decimal | None:
    """A positive percentage typed so far (at most 1000), or None."""
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() and 0 < value <= 1000 else None


def _as_data(form: ContractTermsForm):
    from django.http import QueryDict

    data = QueryDict(mutable=True)
    for name in ContractTermsForm.base_fields:
        value = form.value(name)
        if isinstance(value, list | tuple):
            data.setlist(name, [str(v) for v in value])
        elif value not in (None, False):
            data[name] = "on" if value is True else str(value)
    return data


@validated_account_required
@require_POST
def resend(request, pk: int):
    contract = selectors.contract_get_for_producer(user=request.user, pk=pk)
    act(
        request,
        lambda: contracts.contract_resend(contract=contract, actor=request.user),
        _("Invitation sent again to %(email)s.") % {"email": contract.cocreator.email},
    )
    return _contract_list_orredirect_page(request, contract.product)


@validated_account_required
@require_http_methods(["GET", "POST"])
def cancel(request, pk: int):
    contract = selectors.contract_get_for_producer(user=request.user, pk=pk)
    if request.method == "POST":
        try:
            termination = contracts.contract_cancel(contract=contract, actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("Invitation canceled.")
                if termination is None
                else _("Termination requested. The contract ends when the cocreator approves it."),
            )
        return redirect("coproduction:product", product_pk=contract.product_id)
    return render(request, "coproduction/cancel_confirm.html", {"contract": contract})


def _contract_list_orredirect_page(request, product):
    if request.htmx:
        return render_page_or_partial(
            request,
            "coproduction/product.html",
            "contract-list",
            _contracts_context(request, product),
        )
    return redirect("coproduction:product", product_pk=product.pk)


# ----------------------------------------------------------------------------- cocreator

COCREATOR_TABS = {
    "invitations": gettext_lazy("Invitations received"),
    "confirmed": gettext_lazy("Confirmed co-productions"),
}


@validated_account_required
def cocreator(request):
    tab = request.GET.get("tab", "invitations")
    if tab not in COCREATOR_TABS:
        tab = "invitations"
    page = paginate(request, selectors.contracts_for_cocreator(user=request.user, tab=tab))
    context = {"tab": tab, "tabs": COCREATOR_TABS, "page": page, "contracts": page.object_list}
    return render_page_or_partial(request, "coproduction/cocreator.html", "cocreator-list", context)


@validated_account_required
def information(request, pk: int):
    contract = selectors.contract_get_for_cocreator(user=request.user, pk=pk)
    return render_page_or_partial(
        request, "coproduction/information.html", "information", {"contract": contract}
    )


@validated_account_required
@require_http_methods(["GET", "POST"])
def accept(request, pk: int):
    contract = selectors.contract_get_for_cocreator(user=request.user, pk=pk)
    form = AcceptForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            contracts.contract_accept(contract=contract, actor=request.user, terms_accepted=True)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("You are now a cocreator of %(product)s.") % {"product": contract.product.name},
            )
            return _redirect_tab("confirmed")
    return render(request, "coproduction/accept.html", {"contract": contract, "form": form})


@validated_account_required
@require_http_methods(["GET", "POST"])
def decline(request, pk: int):
    contract = selectors.contract_get_for_cocreator(user=request.user, pk=pk)
    if request.method == "POST":
        act(
            request,
            lambda: contracts.contract_decline(contract=contract, actor=request.user),
            _("You declined the invitation to %(product)s.") % {"product": contract.product.name},
        )
        return _redirect_tab("invitations")
    return render(request, "coproduction/decline_confirm.html", {"contract": contract})


@validated_account_required
@require_http_methods(["GET", "POST"])
def request_end(request, pk: int):
    contract = selectors.contract_get_for_cocreator(user=request.user, pk=pk)
    if request.method == "POST":
        act(
            request,
            lambda: contracts.contract_request_end(contract=contract, actor=request.user),
            _("Request sent. The co-production ends when the producer approves it."),
        )
        return redirect("coproduction:history", pk=contract.pk)
    return render(request, "coproduction/end_confirm.html", {"contract": contract})


def _redirect_tab(tab: str):
    return redirect(f"{reverse('coproduction:cocreator')}?tab={tab}")


# ----------------------------------------------------------------------------- both sides


@validated_account_required
def history(request, pk: int):
    contract = selectors.contract_get_for_party(user=request.user, pk=pk)
    return render_page_or_partial(
        request, "coproduction/history.html", "change-history", _history_context(request, contract)
    )


def _history_context(request, contract: Contract) -> dict:
    """Changes (newest first) and events (oldest first), each a page at a time with its own
    page number; links go to the history's address even after an answer posted elsewhere."""
    path = reverse("coproduction:history", args=[contract.pk])
    # The rows show their people's emails: the rest of two users a row is only parsing time.
    changes = selectors.change_history(contract=contract).only(
        *(field.name for field in ChangeRequest._meta.concrete_fields),
        "requested_by__email",
        "responded_by__email",
    )
    changes_page = paginate(request, changes, path=path)
    events_page = paginate(
        request, selectors.contract_events(contract=contract), param="events_page", path=path
    )
    return {
        "contract": contract,
        "page": changes_page,
        "changes": changes_page.object_list,
        "events_page": events_page,
        "events": events_page.object_list,
        "is_producer": request.user.pk == contract.product.producer_id,
        # An answer posted from a later page comes back to that page (and the events' page).
        "pages_query": _pages_query(changes_page.number, events_page.number),
    }


def _pages_query(changes: int, events: int) -> str:
    """'?page=2&events_page=3' for the pages past the first, '' when both are the first."""
    pages = (("page", changes), ("events_page", events))
    kept = {name: number for name, number in pages if number > 1}
    return f"?{urlencode(kept)}" if kept else ""


@validated_account_required
def change_detail(request, pk: int, change_pk: int):
    contract = selectors.contract_get_for_party(user=request.user, pk=pk)
    change = get_object_or_404(selectors.change_history(contract=contract), pk=change_pk)
    return render_page_or_partial(
        request,
        "coproduction/change_detail.html",
        "change-detail",
        {"contract": contract, "change": change},
    )


CHANGE_ACTIONS = {
    "accept": (changes.change_request_accept, gettext_lazy("Change accepted.")),
    "refuse": (changes.change_request_refuse, gettext_lazy("Change refused.")),
    "withdraw": (changes.change_request_withdraw, gettext_lazy("Request withdrawn.")),
}


@validated_account_required
@require_POST
def change_answer(request, pk: int, change_pk: int, action: str):
    contract = selectors.contract_get_for_party(user=request.user, pk=pk)
    change = get_object_or_404(ChangeRequest, pk=change_pk, contract=contract)
    if action not in CHANGE_ACTIONS:
        raise Http404
    service, done = CHANGE_ACTIONS[action]
    act(request, lambda: service(change=change, actor=request.user), done)
    contract.refresh_from_db()
    context = _history_context(request, contract)
    if request.htmx:
        return render_page_or_partial(
            request, "coproduction/history.html", "change-history", context
        )
    return redirect(reverse("coproduction:history", args=[contract.pk]) + context["pages_query"])


@login_required
def email_link(request, token: str):
    """An emailed link: spend it, then go to the screen where the request is answered. A link
    of theirs already used or expired still lands there (with a word why), not on the
    dashboard; only a link that is not theirs or not valid goes to the dashboard."""
    try:
        link = email_link_use(token=token, user=request.user)
    except LinkSpent as exc:
        messages.info(request, exc.message)
        return _link_screen(request, exc.link)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("dashboard")
    return _link_screen(request, link)


def _link_screen(request, link: EmailLink):
    contract = link.contract
    if link.purpose == EmailLink.Purpose.CHANGE or link.change_request_id:
        return redirect("coproduction:history", pk=contract.pk)
    if request.user.pk == contract.cocreator_id:
        # Whatever became of the invitation, its information page says so (a canceled or
        # declined one is on neither tab).
        return redirect("coproduction:information", pk=contract.pk)
    return redirect("coproduction:product", product_pk=contract.product_id)
