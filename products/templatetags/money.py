"""{{ amount_minor|money:currency }} and {{ method|method_label }}."""

from django import template

from products.money import format_money
from products.payments.methods import Method

register = template.Library()


@register.filter
def money(amount_minor, currency: str) -> str:
    return format_money(amount_minor, currency)


@register.filter
def method_label(method: str) -> str:
    return Method(method).label if method in Method.values else method
