"""Account screens: the dashboard and the account validation request."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts import services
from accounts.exceptions import DomainError
from accounts.forms import ValidationForm
from accounts.models import AccountValidation


def home(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    return render(request, "home.html")


@login_required
def dashboard(request):
    from products.selectors import product_list_for_producer

    products = product_list_for_producer(producer=request.user)[:5]
    return render(
        request,
        "accounts/dashboard.html",
        {"validation": getattr(request.user, "validation", None), "products": products},
    )


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
            messages.success(request, "Thanks! Your data was sent for review.")
            return redirect("accounts:validation")
    elif request.method == "POST" and not can_submit:
        messages.error(request, "Your data is already under review or validated.")
        return redirect("accounts:validation")
    return render(
        request,
        "accounts/validation.html",
        {"validation": current, "form": form, "can_submit": can_submit},
    )


def _initial(current: AccountValidation | None) -> dict:
    if current is None:
        return {}
    return {
        "legal_name": current.legal_name,
        "country": current.country,
        "tax_document": current.tax_document,
    }
