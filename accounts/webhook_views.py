"""Webhook screens: a person's endpoints, adding and editing one, its secret shown once, its
delivery log with resend, and the buttons that ping, rotate, enable, disable or delete it.
Every endpoint is its owner's only: another person's answers 404."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import outgoing_webhooks as webhooks
from accounts.models import WebhookDelivery, WebhookEndpoint
from accounts.webhook_forms import ActionForm, EndpointForm
from config.paginate import paginate

LOG_PAGE_SIZE = 20


def _own_endpoint(request, pk: int) -> WebhookEndpoint:
    return get_object_or_404(WebhookEndpoint, pk=pk, user=request.user)


def _show_secret_once(request, endpoint: WebhookEndpoint, secret: str):
    """The secret waits in the session for the next page, which takes it out: a reload, or
    anyone later, finds it gone."""
    request.session[_secret_key(endpoint)] = secret
    return redirect("webhooks:secret", pk=endpoint.pk)


def _secret_key(endpoint: WebhookEndpoint) -> str:
    return f"webhook_secret_{endpoint.pk}"


def _back_to_log(endpoint: WebhookEndpoint, form: ActionForm):
    url = reverse("webhooks:detail", args=[endpoint.pk])
    page = form.cleaned_data.get("page") if form.is_valid() else None
    return redirect(f"{url}?page={page}" if page and page > 1 else url)


@login_required
@require_GET
def endpoint_list(request):
    endpoints = list(webhooks.endpoints_of(request.user))
    for endpoint in endpoints:
        endpoint.event_labels = [webhooks.event_label(name) for name in endpoint.event_types]
    return render(
        request,
        "accounts/webhooks/list.html",
        {
            "endpoints": endpoints,
            "limit": webhooks.MAX_ENDPOINTS_PER_USER,
            "can_add": len(endpoints) < webhooks.MAX_ENDPOINTS_PER_USER,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def endpoint_add(request):
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = webhooks.endpoint_create(user=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        except webhooks.WebhookError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Endpoint added."))
            return _show_secret_once(request, endpoint, secret)
    return render(request, "accounts/webhooks/form.html", {"form": form, "endpoint": None})


@login_required
@require_http_methods(["GET", "POST"])
def endpoint_edit(request, pk: int):
    endpoint = _own_endpoint(request, pk)
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
    }
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            webhooks.endpoint_update(endpoint=endpoint, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Endpoint saved."))
            return redirect("webhooks:detail", pk=endpoint.pk)
    return render(request, "accounts/webhooks/form.html", {"form": form, "endpoint": endpoint})


@login_required
@require_GET
def endpoint_secret(request, pk: int):
    endpoint = _own_endpoint(request, pk)
    secret = request.session.pop(_secret_key(endpoint), None)
    response = render(
        request, "accounts/webhooks/secret.html", {"endpoint": endpoint, "secret": secret}
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def endpoint_detail(request, pk: int):
    endpoint = _own_endpoint(request, pk)
    page = paginate(request, webhooks.deliveries_of(endpoint), per_page=LOG_PAGE_SIZE)
    page.object_list = list(page.object_list)
    for delivery in page.object_list:
        delivery.event_label = webhooks.event_label(delivery.message.event_type)
    return render(
        request,
        "accounts/webhooks/detail.html",
        {
            "endpoint": endpoint,
            "page": page,
            "event_labels": [webhooks.event_label(name) for name in endpoint.event_types],
            "disabled_reason": webhooks.disabled_reason_display(endpoint),
            "previous_secret_until": webhooks.previous_secret_until(endpoint),
            "overlap_hours": webhooks.rotation_overlap_hours(),
        },
    )


@login_required
@require_POST
def endpoint_rotate(request, pk: int):
    endpoint = _own_endpoint(request, pk)
    ActionForm(request.POST).is_valid()
    secret = webhooks.endpoint_rotate_secret(endpoint=endpoint)
    hours = webhooks.rotation_overlap_hours()
    messages.success(
        request,
        ngettext(
            "New secret created. The previous one keeps signing for %(hours)s hour.",
            "New secret created. The previous one keeps signing for %(hours)s hours.",
            hours,
        )
        % {"hours": hours},
    )
    return _show_secret_once(request, endpoint, secret)


@login_required
@require_POST
def endpoint_enable(request, pk: int):
    endpoint = _own_endpoint(request, pk)
    form = ActionForm(request.POST)
    webhooks.endpoint_enable(endpoint=endpoint)
    messages.success(request, _("Endpoint enabled. Deliveries that were waiting will be sent."))
    return _back_to_log(endpoint, form)


@login_required
@require_POST
def endpoint_disable(request, pk: int):
    endpoint = _own_endpoint(request, pk)
    form = ActionForm(request.POST)
    webhooks.endpoint_disable(endpoint=endpoint)
    messages.success(request, _("Endpoint disabled. No events are sent to it until you enable it."))
    return _back_to_log(endpoint, form)


@login_required
@require_POST
def endpoint_ping(request, pk: int):
    endpoint = _own_endpoint(request, pk)
    form = ActionForm(request.POST)
    webhooks.endpoint_ping(endpoint=endpoint)
    messages.success(request, _("Test event sent. Its result appears in the log below."))
    return _back_to_log(endpoint, form)


@login_required
@require_POST
def delivery_resend(request, pk: int, delivery_pk: int):
    endpoint = _own_endpoint(request, pk)
    delivery = get_object_or_404(
        WebhookDelivery.objects.select_related("endpoint"), pk=delivery_pk, endpoint=endpoint
    )
    form = ActionForm(request.POST)
    try:
        webhooks.delivery_resend(delivery=delivery, by_user=request.user)
    except webhooks.WebhookError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Delivery sent again. Its result appears in the log."))
    return _back_to_log(endpoint, form)


@login_required
@require_http_methods(["GET", "POST"])
def endpoint_delete(request, pk: int):
    endpoint = _own_endpoint(request, pk)
    form = ActionForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        webhooks.endpoint_delete(endpoint=endpoint)
        messages.success(request, _("Endpoint deleted."))
        return redirect("webhooks:list")
    return render(request, "accounts/webhooks/delete.html", {"endpoint": endpoint, "form": form})
