"""The REST API under /api/v1/ (django-ninja): its OpenAPI schema is generated from the code."""

from ninja import NinjaAPI

api = NinjaAPI(title="Coprod API", version="1", urls_namespace="api")
