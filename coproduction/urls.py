from django.urls import path

from coproduction import balance_views, views
from coproduction.statement_views import statement, statement_csv

app_name = "coproduction"

urlpatterns = [
    # Producer: Tools > Co-productions
    path("tools/co-productions/", views.index, name="index"),
    path("tools/co-productions/<int:product_pk>/", views.product_contracts, name="product"),
    path("tools/co-productions/<int:product_pk>/invite/", views.invite, name="invite"),
    path("tools/co-productions/contracts/<int:pk>/resend/", views.resend, name="resend"),
    path("tools/co-productions/contracts/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("tools/co-productions/contracts/<int:pk>/change/", views.propose_change, name="change"),
    # Both sides
    path("co-productions/<int:pk>/history/", views.history, name="history"),
    path(
        "co-productions/<int:pk>/history/<int:change_pk>/",
        views.change_detail,
        name="change_detail",
    ),
    path(
        "co-productions/<int:pk>/history/<int:change_pk>/<slug:action>/",
        views.change_answer,
        name="change_answer",
    ),
    path("co-productions/link/<str:token>/", views.email_link, name="email_link"),
    # Cocreator: Products > My Products > I am a cocreator
    path("products/cocreator/", views.cocreator, name="cocreator"),
    path("products/cocreator/<int:pk>/", views.information, name="information"),
    path("products/cocreator/<int:pk>/accept/", views.accept, name="accept"),
    path("products/cocreator/<int:pk>/decline/", views.decline, name="decline"),
    path("products/cocreator/<int:pk>/end/", views.request_end, name="request_end"),
    # Producers, cocreators and affiliates: Products > Balance
    path("balance/", balance_views.balance, name="balance"),
    path(
        "balance/withdrawals/<int:pk>/cancel/",
        balance_views.cancel,
        name="withdrawal_cancel",
    ),
    # The payout gateway's signed notifications (beside the payment gateway's webhooks/gateway/)
    path("webhooks/payouts/", balance_views.payout_webhook, name="payout_webhook"),
    # Everyone with a balance: the monthly statement and its CSV
    path("balance/statements/", statement, name="statement"),
    path("balance/statements/export.csv", statement_csv, name="statement_csv"),
]
