"""One way for admin actions to apply a service to each selected object."""

from collections.abc import Callable

from django.contrib import messages

from accounts.exceptions import DomainError


def apply_each(
    modeladmin,
    request,
    queryset,
    action: Callable,
    *,
    done: Callable[[int], str],
    label: Callable = str,
) -> int:
    """Call `action(obj)` for each object. One success line, `done(count)` (a whole sentence
    with its plural, e.g. ngettext("%(count)s account validated.", …)), then a warning per
    object a domain rule refused, named by `label(obj)`. Returns the successes."""
    succeeded, refused = 0, []
    for obj in queryset:
        try:
            action(obj)
        except DomainError as exc:
            refused.append(f"{label(obj)}: {exc.message}")
        else:
            succeeded += 1
    if succeeded:
        modeladmin.message_user(request, done(succeeded), messages.SUCCESS)
    for message in refused:
        modeladmin.message_user(request, message, messages.WARNING)
    return succeeded
