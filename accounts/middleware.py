"""A logged-in person reads in their account's language and time zone; anyone else follows the
browser (LocaleMiddleware, before this one, already chose from the cookie or Accept-Language)."""

from django.utils import timezone, translation

from accounts.locales import supported_language, user_zone


class PersonLocaleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            language = supported_language(user.language)
            translation.activate(language)
            request.LANGUAGE_CODE = language
            timezone.activate(user_zone(user))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
