"""The Jinja2 environment for the rows of long lists. A page stays a Django template; where it
repeats a row 50 times (a big producer's sales, subscribers, a contract's history, the inbox)
it includes a `.jinja` fragment with `{% rows "app/_x_rows.jinja" %}` (config/templatetags/
fragments.py). Jinja2 compiles a template to Python, so a row costs a few function calls
instead of Django's node-by-node rendering: ~20 ms less for a 50-row page.

The fragment sees the page's context. What it can call: the project's gettext functions
(`_`, `gettext`, `ngettext`, `pgettext`, `npgettext`; newstyle: `_("since %(date)s",
date=x)` escapes and formats), `url(name, *args)`, `static(path)`, and the filters the pages
use (`date` and `floatformat` as Django's, `money`, `day`, `moment`, `method_label`);
`csrf_field` is the form field, written out once per render (row_helpers, below). Strings are
extracted with the rest (config.i18n: `**.jinja`)."""

from django.template.backends.utils import csrf_input
from django.template.defaultfilters import date, floatformat
from django.templatetags.static import static
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils import translation
from django.utils.translation import trans_real
from jinja2 import Environment, pass_context

from accounts import locales
from products.templatetags.money import method_label, money

# url(name, pk, …) with whole-number arguments, as rows call it, is reversed once per name,
# language, script prefix and URLconf with stand-in numbers, and then filled in: Django's
# reverse() costs ~15 µs (a dozen thread-local lookups), and a 50-row page calls it 100 times.
# A render gets its own url() with the language, prefix and URLconf read once (row_helpers).
_STAND_INS = (7_340_019_553, 7_340_019_557, 7_340_019_559)
_shapes: dict[tuple, tuple[str, ...] | None] = {}


def _shape(key: tuple) -> tuple[str, ...] | None:
    """The URL of key's name for its count of whole numbers, cut where they go; None where it
    can't be (a pattern that takes no such numbers, or a stand-in seen twice)."""
    try:
        return _shapes[key]
    except KeyError:
        pass
    name, count = key[:2]
    shape = None
    try:
        text = reverse(name, args=_STAND_INS[:count])
    except NoReverseMatch:
        text = None
    if text is not None:
        pieces = []
        for stand_in in map(str, _STAND_INS[:count]):
            if text.count(stand_in) != 1:
                pieces = None
                break
            head, text = text.split(stand_in)
            pieces.append(head)
        if pieces is not None:
            shape = (*pieces, text)
    if len(_shapes) < 4096:
        _shapes[key] = shape
    return shape


def url_function(settings: tuple | None = None):
    """url(name, *args, **kwargs) as reverse() gives it, for the language, script prefix and
    URLconf of `settings` (those in force at each call when None)."""

    def url(name: str, *args, **kwargs) -> str:
        if (
            args
            and not kwargs
            and len(args) <= len(_STAND_INS)
            and all(type(arg) is int and arg >= 0 for arg in args)
        ):
            now = settings or (translation.get_language(), get_script_prefix(), get_urlconf())
            shape = _shape((name, len(args), *now))
            if shape is not None:
                parts = [shape[0]]
                for arg, piece in zip(args, shape[1:], strict=True):
                    parts.append(str(arg))
                    parts.append(piece)
                return "".join(parts)
        return reverse(name, args=args or None, kwargs=kwargs or None)

    return url


url = url_function()


def row_helpers(request) -> dict:
    """Context processor of the Jinja2 engine. `csrf_field`: the CSRF form field as one string
    (Django's own `csrf_input` is lazy and masks a new token each time it is written; a 50-row
    fragment with a form per row would pay for 50). `url`: url() with this render's language,
    script prefix and URLconf read once. `_day`, `_moment`: the date filters' formatters, with
    the language and time zone read once; `_catalog`: the language's translations."""
    return {
        "csrf_field": csrf_input(request),
        "url": url_function((translation.get_language(), get_script_prefix(), get_urlconf())),
        "_day": locales.day_formatter(),
        "_moment": locales.moment_formatter(),
        "_catalog": _catalog(),
    }


def _catalog():
    """The active language's catalog (Django's translation object), None when none is."""
    language = translation.get_language()
    return trans_real.translation(language) if language else None


# `_` and `gettext` of a fragment look their text up in the render's catalog (row_helpers):
# Django's gettext reads the active language from a thread-local on every call (~8 µs).
@pass_context
def _gettext(context, message: str) -> str:
    catalog = context.get("_catalog")
    if catalog is None or "\r" in message:
        return translation.gettext(message)
    return catalog.gettext(message)


@pass_context
def _ngettext(context, singular: str, plural: str, number: int) -> str:
    catalog = context.get("_catalog")
    if catalog is None:
        return translation.ngettext(singular, plural, number)
    return catalog.ngettext(singular, plural, number)


# The `day` and `moment` filters use the render's formatters (row_helpers) when it has them.
@pass_context
def _day(context, value) -> str:
    return context.get("_day", locales.format_day)(value)


@pass_context
def _moment(context, value) -> str:
    return context.get("_moment", locales.format_moment)(value)


def environment(**options) -> Environment:
    env = Environment(extensions=["jinja2.ext.i18n"], **options)
    env.install_gettext_callables(
        gettext=_gettext,
        ngettext=_ngettext,
        pgettext=translation.pgettext,
        npgettext=translation.npgettext,
        newstyle=True,
    )
    env.globals.update(url=url, static=static)
    env.filters.update(
        date=date,
        floatformat=floatformat,
        money=money,
        day=_day,
        moment=_moment,
        method_label=method_label,
    )
    return env
