"""Co-production screens; the contract lifecycle arrives with its own issue."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def index(request):
    return render(request, "coproduction/index.html")


@login_required
def cocreator(request):
    return render(request, "coproduction/cocreator.html")
