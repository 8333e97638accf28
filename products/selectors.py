"""Reads for products: querysets with what their screens need already joined."""

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import User
from products.models import Affiliation, Plan, Product, Sale


def product_list_for_producer(*, producer: User) -> QuerySet[Product]:
    # Explicit order: Django drops Meta.ordering from GROUP BY queries such as this one.
    return (
        Product.objects.filter(producer=producer)
        .order_by("name", "pk")
        .annotate(
            plan_count=Count("plans", distinct=True),
            affiliate_count=Count(
                "affiliations", filter=Q(affiliations__status="approved"), distinct=True
            ),
            pending_affiliate_count=Count(
                "affiliations", filter=Q(affiliations__status="pending"), distinct=True
            ),
        )
    )


def product_get_for_producer(*, producer: User, pk: int) -> Product:
    """404 unless the product belongs to this producer: others must not learn it exists."""
    return get_object_or_404(Product, pk=pk, producer=producer)


def product_get_public(*, pk: int) -> Product:
    return get_object_or_404(Product.objects.select_related("producer"), pk=pk, is_active=True)


def plan_list(*, product: Product) -> QuerySet[Plan]:
    return product.plans.all()


def affiliation_list_for_product(*, product: Product) -> QuerySet[Affiliation]:
    # pk last: a page boundary must not move between two rows requested at the same moment.
    return product.affiliations.select_related("affiliate").order_by(
        "status", "-requested_at", "-pk"
    )


def affiliation_list_for_user(*, user: User) -> QuerySet[Affiliation]:
    return user.affiliations.select_related("product", "product__producer").order_by(
        "-requested_at", "-pk"
    )


def purchases_for_buyer(*, buyer: User) -> QuerySet[Sale]:
    return (
        Sale.objects.filter(buyer=buyer)
        .select_related("product__producer")
        .prefetch_related("refunds")
        .order_by("-created_at", "-pk")
    )


def sales_for_producer(*, producer: User) -> QuerySet[Sale]:
    return Sale.objects.filter(product__producer=producer, status__in=Sale.COUNTED).select_related(
        "product", "buyer", "affiliation__affiliate"
    )
