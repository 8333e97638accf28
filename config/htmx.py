"""One way to answer HTMX and plain requests alike: the page, or its partial plus the messages."""

from django.contrib.messages import get_messages
from django.shortcuts import render
from django.template.loader import render_to_string


def render_page_or_partial(request, template: str, partial: str, context: dict, status: int = 200):
    """A full page normally; for HTMX only `template#partial`, with flash messages swapped
    out-of-band into #messages so feedback shows wherever the swap happened."""
    if not request.htmx:
        return render(request, template, context, status=status)
    response = render(request, f"{template}#{partial}", context, status=status)
    response.content += render_to_string(
        "partials/messages.html", {"messages": get_messages(request)}, request=request
    ).encode()
    return response


def redirect_page(request, to: str, *args, **kwargs):
    """A redirect that also works for HTMX requests (HX-Redirect instead of a swapped 302)."""
    from django.shortcuts import redirect, resolve_url
    from django_htmx.http import HttpResponseClientRedirect

    if request.htmx:
        return HttpResponseClientRedirect(resolve_url(to, *args, **kwargs))
    return redirect(to, *args, **kwargs)
