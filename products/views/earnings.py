"""Earnings and sales history for producers and cocreators (filled in by the earnings work)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def sales(request):
    return HttpResponse("sales")


@login_required
def sales_csv(request):
    return HttpResponse("csv")


@login_required
def earnings(request):
    return HttpResponse("earnings")
