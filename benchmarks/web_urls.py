"""The site's URLs plus a hello-world view, the baseline `make bench-web` measures pages against:
it runs every middleware a page does and nothing else."""

from django.http import HttpResponse
from django.urls import include, path


def hello(request):
    return HttpResponse(b"Hello, world", content_type="text/plain")


urlpatterns = [
    path("hello/", hello),
    path("", include("config.urls")),
]
