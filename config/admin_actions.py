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
    done: str,
    noun: tuple[str, str] | None = None,
    label: Callable = str,
) -> int:
    """Call `action(obj)` for each object. One success line ("2 accounts validated."), then a
    warning per object a domain rule refused, named by `label(obj)`. Returns the successes."""
    succeeded, refused = 0, []
    for obj in queryset:
        try:
            action(obj)
        except DomainError as exc:
            refused.append(f"{label(obj)}: {exc.message}")
        else:
            succeeded += 1
    if succeeded:
        opts = queryset.model._meta
        singular, plural = noun or (opts.verbose_name, opts.verbose_name_plural)
        name = singular if succeeded == 1 else plural
        modeladmin.message_user(request, f"{succeeded} {name} {done}.", messages.SUCCESS)
    for message in refused:
        modeladmin.message_user(request, message, messages.WARNING)
    return succeeded
