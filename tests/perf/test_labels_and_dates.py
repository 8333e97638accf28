"""Labels of choices and dates are written out once and remembered (config/choices.py,
accounts/locales.py): the text read afterwards is still the reader's language, and a value
outside the choices still reads as itself."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel import Locale
from django.db.models import Model
from django.utils import timezone, translation

from accounts.locales import as_locale, babel_locale, format_day, format_month, format_month_short
from subscriptions.models import Subscription


def test_a_status_label_reads_in_each_language_after_it_was_read_in_another():
    subscription = Subscription(status=Subscription.Status.CANCELED_BY_SELLER)
    seen = {}
    for _round in range(2):
        for language in ("en", "pt-br", "es"):
            with translation.override(language):
                seen.setdefault(language, set()).add(subscription.get_status_display())
    for language, labels in seen.items():
        with translation.override(language):
            assert labels == {str(Subscription.Status.CANCELED_BY_SELLER.label)}
    assert len({next(iter(labels)) for labels in seen.values()}) == 3


def test_the_remembered_label_is_the_one_django_writes_and_an_unknown_value_reads_as_itself():
    subscription = Subscription(status=Subscription.Status.ACTIVE)
    field = Subscription._meta.get_field("status")
    with translation.override("pt-br"):
        assert subscription.get_status_display() == Model._get_FIELD_display(subscription, field)
    subscription.status = "no-such-status"
    assert subscription.get_status_display() == "no-such-status"
    # Django's own is replaced (it rebuilt a dict of lazy labels on every call).
    assert getattr(Subscription.__dict__["get_status_display"], "func", None) is None


def test_dates_read_in_each_language_after_they_were_written_in_another():
    day = date(2027, 1, 31)
    seen = {}
    for _round in range(2):
        for language in ("en", "pt-br", "es"):
            with translation.override(language):
                seen.setdefault(language, set()).add(format_day(day))
    assert seen == {"en": {"Jan 31, 2027"}, "pt-br": {"31 de jan. de 2027"}, "es": {"31 ene 2027"}}


def test_a_moment_is_the_day_and_month_it_is_in_the_active_zone():
    moment = datetime(2027, 2, 1, 1, 30, tzinfo=ZoneInfo("UTC"))
    with translation.override("en"), timezone.override(ZoneInfo("America/Sao_Paulo")):
        assert format_day(moment) == "Jan 31, 2027"
        assert format_month(moment) == "January 2027"
        assert format_month_short(moment) == "Jan 2027"
    with translation.override("en"), timezone.override(ZoneInfo("UTC")):
        assert format_month(moment) == "February 2027"


def test_locales_are_parsed_once():
    with translation.override("pt-br"):
        assert babel_locale() is babel_locale()
        assert isinstance(babel_locale(), Locale)
    assert as_locale("es_CO") is as_locale("es_CO")
    assert str(as_locale(None)) in {"en", "pt_BR", "es"}


def test_the_date_functions_take_a_language_code_as_before():
    day = date(2027, 1, 31)
    assert format_day(day, locale="pt-br") == "31 de jan. de 2027"
    assert format_day(day, locale="es") == "31 ene 2027"
    assert format_month(day, locale="pt-br") == "janeiro de 2027"


def test_row_fragments_write_dates_as_format_day_and_format_moment_in_the_readers_zone():
    """The `day` and `moment` filters of a Jinja2 fragment use formatters set up once per
    render (config.jinja.row_helpers, accounts.locales.day_formatter): the same text as
    format_day and format_moment, in the language and time zone of the render, with or
    without a request."""
    from django.template import engines
    from django.test import RequestFactory

    from accounts.locales import format_moment

    fragment = engines["jinja2"].from_string("{{ when|day }}|{{ when|moment }}|{{ on|day }}")
    late = datetime(2026, 12, 1, 1, 30, tzinfo=ZoneInfo("UTC"))  # Nov 30 in São Paulo
    values = {"when": late, "on": date(2027, 1, 31)}
    for language, zone in (("pt-br", "America/Sao_Paulo"), ("en", "UTC"), ("es", "Asia/Tokyo")):
        with translation.override(language), timezone.override(ZoneInfo(zone)):
            expected = f"{format_day(late)}|{format_moment(late)}|{format_day(values['on'])}"
            with_request = fragment.render({**values}, request=RequestFactory().get("/"))
            assert with_request == expected
            assert fragment.render({**values}) == expected
    with translation.override("pt-br"), timezone.override(ZoneInfo("America/Sao_Paulo")):
        assert (
            fragment.render({**values})
            == "30 de nov. de 2026|30 de nov. de 2026 22:30|31 de jan. de 2027"
        )
