from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProductsConfig(AppConfig):
    name = "products"
    verbose_name = _("Products")

    def ready(self) -> None:
        from products import checks  # noqa: F401 (registers the deploy checks)
