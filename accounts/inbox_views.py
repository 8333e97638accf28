"""The inbox: the bell's count, the list with its filters, marking read, and which kinds also
come by email. Every notification is its recipient's only: another person's answers 404."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import notifications
from accounts.forms import InboxFilterForm, MarkReadForm, NotificationEmailForm
from accounts.models import Notification
from config.paginate import paginate


@login_required
@require_GET
def bell(request):
    """The header's bell (loaded and polled by htmx): the unread count."""
    return render(
        request, "accounts/_bell.html", {"unread": notifications.unread_count(request.user)}
    )


@login_required
@require_GET
def inbox(request):
    form = InboxFilterForm(request.GET or None)
    group, unread = "", False
    if form.is_valid():
        group, unread = form.cleaned_data["group"], form.cleaned_data["unread"]
    items = notifications.inbox(request.user, group=group, unread=unread)
    return render(
        request,
        "accounts/inbox.html",
        {
            "form": form,
            "page": paginate(request, items),
            "unread": notifications.unread_count(request.user),
        },
    )


@login_required
@require_POST
def inbox_open(request, pk: int):
    """Mark it read and go where it is answered."""
    notification = Notification.objects.filter(recipient=request.user, pk=pk).first()
    if notification is None:
        raise Http404
    notifications.mark_read(request.user, pk=pk)
    path = notification.path
    if not path or not url_has_allowed_host_and_scheme(path, allowed_hosts=None):
        return redirect("accounts:inbox")
    return redirect(path)


@login_required
@require_POST
def inbox_read(request):
    form = MarkReadForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("That notification could not be found."))
        return redirect("accounts:inbox")
    pk = form.cleaned_data["notification"]
    if pk is not None and not Notification.objects.filter(recipient=request.user, pk=pk).exists():
        raise Http404
    notifications.mark_read(request.user, pk=pk)
    if pk is None:
        messages.success(request, _("All notifications marked as read."))
    elif request.htmx:
        item = Notification.objects.get(recipient=request.user, pk=pk)
        return render(request, "accounts/_inbox_items.jinja", {"items": [item]}, using="jinja2")
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts=None):
        return redirect(back)
    return redirect("accounts:inbox")


@login_required
@require_http_methods(["GET", "POST"])
def inbox_preferences(request):
    form = NotificationEmailForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        notifications.set_email_off(request.user, form.email_off())
        messages.success(request, _("Your email preferences were saved."))
        return redirect("accounts:inbox_preferences")
    return render(request, "accounts/inbox_preferences.html", {"form": form})
