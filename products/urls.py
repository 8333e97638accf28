from django.urls import path

from products.views import catalog, earnings, sales

app_name = "products"

urlpatterns = [
    path("products/", catalog.my_products, name="my_products"),
    path("products/new/", catalog.product_create, name="create"),
    path("products/<int:pk>/edit/", catalog.product_edit, name="edit"),
    path("products/<int:pk>/plans/", catalog.plans, name="plans"),
    path("products/<int:pk>/plans/<int:plan_pk>/", catalog.plan_edit, name="plan_edit"),
    path("products/<int:pk>/affiliates/", catalog.affiliates, name="affiliates"),
    path(
        "products/<int:pk>/affiliates/<int:affiliation_pk>/commission/",
        catalog.affiliation_commission,
        name="affiliation_commission",
    ),
    path(
        "products/<int:pk>/affiliates/<int:affiliation_pk>/<slug:action>/",
        catalog.affiliation_decide,
        name="affiliation_decide",
    ),
    path("p/<int:pk>/", catalog.public, name="public"),
    path("p/<int:pk>/affiliate/", catalog.affiliation_request, name="affiliation_request"),
    path("affiliations/", catalog.my_affiliations, name="my_affiliations"),
    path("p/<int:pk>/checkout/", sales.checkout, name="checkout"),
    path("purchases/", sales.purchases, name="purchases"),
    path("purchases/<int:pk>/", sales.purchase, name="purchase"),
    path("purchases/<int:pk>/slip/", sales.slip, name="slip"),
    path("purchases/<int:pk>/refund/", sales.purchase_refund, name="purchase_refund"),
    path("sales/", earnings.sales, name="sales"),
    path("sales/export.csv", earnings.sales_csv, name="sales_csv"),
    path("sales/<int:pk>/refund/", sales.sale_refund, name="sale_refund"),
    path("earnings/", earnings.earnings, name="earnings"),
]
