from django.urls import path

from products import views

app_name = "products"

urlpatterns = [
    path("products/", views.my_products, name="my_products"),
    path("products/new/", views.product_create, name="create"),
    path("products/<int:pk>/edit/", views.product_edit, name="edit"),
    path("products/<int:pk>/plans/", views.plans, name="plans"),
    path("products/<int:pk>/plans/<int:plan_pk>/", views.plan_edit, name="plan_edit"),
    path("products/<int:pk>/affiliates/", views.affiliates, name="affiliates"),
    path(
        "products/<int:pk>/affiliates/<int:affiliation_pk>/commission/",
        views.affiliation_commission,
        name="affiliation_commission",
    ),
    path(
        "products/<int:pk>/affiliates/<int:affiliation_pk>/<slug:action>/",
        views.affiliation_decide,
        name="affiliation_decide",
    ),
    path("p/<int:pk>/", views.public, name="public"),
    path("p/<int:pk>/affiliate/", views.affiliation_request, name="affiliation_request"),
    path("affiliations/", views.my_affiliations, name="my_affiliations"),
]
