"""{{ value|day }}, {{ value|moment }}, {{ value|month }} …: dates in the reader's locale and
zone (accounts.locales), and {% zone_label %} naming that zone."""

from django import template

from accounts import locales

register = template.Library()

register.filter("day", locales.format_day)
register.filter("day_short", locales.format_day_short)
register.filter("moment", locales.format_moment)
register.filter("month", locales.format_month)
register.filter("month_short", locales.format_month_short)


@register.simple_tag
def zone_label() -> str:
    return locales.zone_label()
