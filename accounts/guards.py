"""Guards for views that need a logged-in user with a validated account."""

from functools import wraps

from django.contrib.auth.mixins import AccessMixin
from django.contrib.auth.views import redirect_to_login
from django.template.response import TemplateResponse


def _validation_required_response(request):
    return TemplateResponse(
        request,
        "accounts/validation_required.html",
        {"validation": getattr(request.user, "validation", None)},
        status=403,
    )


def validated_account_required(view):
    """Anonymous → login page; logged in but not validated → a 403 page that says what to do."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_validated:
            return _validation_required_response(request)
        return view(request, *args, **kwargs)

    return wrapper


class ValidatedAccountRequiredMixin(AccessMixin):
    """Class-based twin of validated_account_required."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not request.user.is_validated:
            return _validation_required_response(request)
        return super().dispatch(request, *args, **kwargs)
