"""Forms of the webhook screens: an endpoint's fields, and the bodies of the buttons that act
on one (resend, ping, rotate, enable, disable, delete), which carry only the page to go back to."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import WebhookEndpoint
from accounts.outgoing_webhooks import EVENT_TYPES


class EndpointForm(forms.Form):
    """The fields' shapes; the URL's safety and the events are checked by the service
    (outgoing_webhooks._clean), whose errors land on these fields."""

    url = forms.URLField(
        label=_("URL"),
        max_length=WebhookEndpoint._meta.get_field("url").max_length,
        assume_scheme="https",
        help_text=_(
            "Where events are posted. It must start with https:// and be reachable from the "
            "internet."
        ),
        widget=forms.URLInput(attrs={"placeholder": "https://", "autocomplete": "off"}),
    )
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=WebhookEndpoint._meta.get_field("description").max_length,
        help_text=_("Optional: what receives these events, to tell your endpoints apart."),
    )
    event_types = forms.MultipleChoiceField(
        label=_("Events"),
        choices=list(EVENT_TYPES.items()),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one event.")},
    )


class ActionForm(forms.Form):
    """A button's form: nothing to fill in but the log page it was pressed on."""

    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
