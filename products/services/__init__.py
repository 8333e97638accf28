"""Writes on products: the catalog (products, plans, affiliations) and sales (checkout, refunds).

The catalog services are re-exported here because views and tests call them as
`products.services.<name>`."""

from products.services.catalog import (
    affiliation_decide,
    affiliation_request,
    affiliation_set_commission,
    plan_create,
    plan_update,
    product_create,
    product_update,
)

__all__ = [
    "affiliation_decide",
    "affiliation_request",
    "affiliation_set_commission",
    "plan_create",
    "plan_update",
    "product_create",
    "product_update",
]
