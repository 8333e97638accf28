"""The rows of long lists are Jinja2 fragments included with {% rows %} (config/jinja.py):
they see the page's context, translate in the reader's language, escape what a user typed,
and write one CSRF field however many forms the rows hold."""

import re

from django.template import Context, Template, engines
from django.test import RequestFactory
from django.utils import translation


def test_a_fragment_escapes_what_it_writes():
    html = engines["jinja2"].from_string("{% for r in rows %}<b>{{ r }}</b>{% endfor %}")
    assert html.render({"rows": ["<script>", "a&b"]}) == "<b>&lt;script&gt;</b><b>a&amp;b</b>"


def test_rows_translate_in_the_readers_language():
    with translation.override("pt-br"):
        text = engines["jinja2"].from_string('{{ _("since %(date)s", date=d) }}').render({"d": "x"})
    assert text == "desde x"


def test_the_rows_tag_renders_a_jinja_fragment_with_the_page_context(db):
    from accounts.models import Notification
    from tests.factories import UserFactory

    user = UserFactory()
    items = [
        Notification.objects.create(recipient=user, kind="invitation", key=f"k{n}", params={})
        for n in range(3)
    ]
    request = RequestFactory().get("/")
    request.user = user
    template = Template('{% load fragments %}{% rows "accounts/_inbox_items.jinja" items=items %}')
    html = template.render(Context({"request": request, "items": items}))
    assert html.count('<li class="inbox-item unread"') == 3
    tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html))
    # Six forms (open, mark as read), one masked token written out once.
    assert len(re.findall(r'name="csrfmiddlewaretoken"', html)) == 6
    assert len(tokens) == 1
