"""A logged-in person reads in their account's language and time zone; anyone else follows the
browser (LocaleMiddleware, before this one, already chose from the cookie or Accept-Language).
Both are undone after the response, so nothing that runs later in the thread (a task, a test)
inherits someone's language or zone."""

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
            response = self.get_response(request)
            # LocaleMiddleware only sets it when missing; it would read the language after
            # the reset below.
            response.headers.setdefault("Content-Language", translation.get_language())
            return response
        finally:
            timezone.deactivate()
            translation.deactivate()
