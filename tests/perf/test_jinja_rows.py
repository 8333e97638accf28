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


def _named_patterns(patterns=None, namespace=""):
    """(name, number of arguments) of every named URL of the project, namespaces included."""
    from django.urls import URLPattern, get_resolver

    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLPattern):
            if entry.name:
                groups = entry.pattern.regex.groups
                yield f"{namespace}{entry.name}", groups
        else:
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _named_patterns(entry.url_patterns, inner)


def test_rows_urls_are_what_reverse_gives_for_every_named_url_language_and_prefix():
    """url() fills a URL reversed once with stand-in numbers: for every named URL that takes
    numbers it gives exactly what reverse() gives, in each language and under a script prefix;
    where reverse() refuses the arguments, url() refuses them too."""
    import pytest
    from django.urls import NoReverseMatch, reverse, set_script_prefix

    from config.jinja import row_helpers
    from config.jinja import url as url_at_each_call

    names = [(name, groups) for name, groups in _named_patterns() if 1 <= groups <= 3]
    assert len(names) > 20
    checked = 0
    try:
        for prefix in ("/", "/shop/"):
            set_script_prefix(prefix)
            for language in ("en", "pt-br"):
                with translation.override(language):
                    url_of_render = row_helpers(RequestFactory().get("/"))["url"]
                    for name, groups in names:
                        for value in (0, 7, 123_456_789_012):
                            args = (value,) * groups
                            for url in (url_at_each_call, url_of_render):
                                try:
                                    expected = reverse(name, args=args)
                                except NoReverseMatch:
                                    with pytest.raises(NoReverseMatch):
                                        url(name, *args)
                                    continue
                                assert url(name, *args) == expected, (name, args, prefix)
                                assert url(name, *args) == expected  # again: from its shape
                                checked += 1
    finally:
        set_script_prefix("/")
    assert checked > 100


def test_rows_urls_with_other_arguments_go_through_reverse():
    from django.urls import reverse

    from config.jinja import url

    assert url("products:purchase", "12") == reverse("products:purchase", args=["12"])
    assert url("products:purchase", pk=12) == reverse("products:purchase", kwargs={"pk": 12})
    assert url("account_login") == reverse("account_login")


def test_rows_translate_through_the_renders_catalog_in_the_readers_language():
    """With a request, a fragment's `_` and `ngettext` read the render's catalog (row_helpers):
    the same words as Django's gettext, in each language."""
    from django.utils.translation import gettext, ngettext

    source = (
        '{{ _("Details") }}|{{ _("since %(date)s", date="x") }}|'
        '{{ ngettext("%(count)s cocreator", "%(count)s cocreators", 3, count=3) }}'
    )
    fragment = engines["jinja2"].from_string(source)
    seen = set()
    for language in ("en", "pt-br", "es", "pt"):
        with translation.override(language):
            expected = "|".join(
                [
                    gettext("Details"),
                    gettext("since %(date)s") % {"date": "x"},
                    ngettext("%(count)s cocreator", "%(count)s cocreators", 3) % {"count": 3},
                ]
            )
            assert fragment.render({}, request=RequestFactory().get("/")) == expected
            seen.add(expected)
    assert len(seen) >= 3
