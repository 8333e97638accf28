"""Browser story for pagination: a producer filters the sales history by product, goes to page 2
and back (the links and the browser's Back button keep the filter), on a laptop and a phone."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import login
from tests.factories import PASSWORD, UserFactory
from tests.pagination.builders import paid_sales, products

pytestmark = pytest.mark.django_db(transaction=True)

DASH = "\N{EN DASH}"


def test_a_producer_pages_through_a_filtered_sales_history_and_back(page, shot):
    producer = UserFactory(validated=True, email="paula@example.com")
    course, ebook = products(producer, 2)
    now = timezone.now()
    paid_sales([(course, now - timedelta(minutes=i)) for i in range(51)])
    paid_sales([(ebook, now) for _ in range(3)])
    rows = page.locator("#sales-table tbody tr")

    login(page, "paula@example.com", PASSWORD)
    page.goto("/sales/?role=producer")
    expect(page.locator(".pagination-count")).to_have_text(f"1{DASH}50 of 54")
    page.get_by_label("Product").select_option(label=course.name)
    expect(page.locator(".pagination-count")).to_have_text(f"1{DASH}50 of 51")
    expect(rows).to_have_count(50)

    page.get_by_role("link", name="Next →").click()
    expect(page.locator(".pagination-count")).to_have_text(f"51{DASH}51 of 51")
    expect(rows).to_have_count(1)
    assert re.search(rf"product={course.pk}", page.url) and "page=2" in page.url
    expect(page.get_by_label("Product")).to_have_value(str(course.pk))
    shot(page, "pagination-01-sales-page-2")
    page.set_viewport_size({"width": 390, "height": 844})
    nav = page.locator("nav.pagination")
    nav.scroll_into_view_if_needed()
    # Nothing of the page links sticks out of a phone's screen.
    box = nav.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    shot(page, "pagination-02-sales-page-2-390")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("link", name="← Previous").click()
    expect(page.locator(".pagination-count")).to_have_text(f"1{DASH}50 of 51")
    expect(rows).to_have_count(50)
    assert "page=" not in page.url and f"product={course.pk}" in page.url
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "pagination-03-sales-page-1-390")
    page.set_viewport_size({"width": 1280, "height": 900})

    # The browser's Back button returns to page 2 of the same filter.
    page.go_back()
    expect(page.locator(".pagination-count")).to_have_text(f"51{DASH}51 of 51")
    expect(rows).to_have_count(1)
