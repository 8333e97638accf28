"""Account screens: the dashboard, the account validation request, the header's language
switcher and the account settings."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services
from accounts.exceptions import DomainError
from accounts.forms import AccountSettingsForm, LanguageForm, ValidationForm
from accounts.models import AccountValidation
from accounts.tax_documents import tax_document_display


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
