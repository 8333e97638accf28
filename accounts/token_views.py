"""Account settings > API tokens: the person's own tokens, creating one (its plaintext shown
once) and revoking one. Someone else's token is a 404."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts import api_tokens
from accounts.token_forms import ApiTokenForm
from config.paginate import paginate


@login_required
@require_http_methods(["GET", "POST"])
@never_cache
def token_list(request):
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token, plaintext = api_tokens.api_token_create(
            user=request.user,
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
        )
        # Shown once, on the page this POST answers: never stored, never in a URL or session.
        return render(
            request,
            "accounts/tokens/created.html",
            {"token": token, "plaintext": plaintext, "api_base": _api_base(request)},
        )
    page = paginate(request, api_tokens.api_tokens_for_user(user=request.user))
    context = {"form": form, "page": page, "tokens": page.object_list}
    return render(request, "accounts/tokens/list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def token_revoke(request, pk: int):
    token = get_object_or_404(api_tokens.api_tokens_for_user(user=request.user), pk=pk)
    if not token.can_revoke:
        messages.info(request, _("This token was already revoked."))
        return redirect("tokens:list")
    if request.method == "POST":
        api_tokens.api_token_revoke(token=token)
        messages.success(
            request, _("Token “%(name)s” revoked: it no longer works.") % {"name": token.name}
        )
        return redirect("tokens:list")
    return render(request, "accounts/tokens/revoke.html", {"token": token})


def _api_base(request) -> str:
    return request.build_absolute_uri(reverse("api:api-root"))
