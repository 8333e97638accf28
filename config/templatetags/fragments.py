"""{% rows "app/_name_rows.jinja" %}: the rows of a long list, rendered by Jinja2 with the
page's context (config/jinja.py says why)."""

from django import template
from django.template import engines
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag(takes_context=True)
def rows(context, name: str, **extra):
    values = context.flatten()
    values.update(extra)
    fragment = engines["jinja2"].get_template(name)
    return mark_safe(fragment.render(values, request=context.get("request")))
