"""zeal's middleware for the test settings: every request runs in zeal's context, so a query
repeated per row raises NPlusOneError in the test that made it. The admin's known per-row
reads are ignored there only (each named below, so any other N+1 in the admin still fails)."""

from zeal import zeal_context, zeal_ignore

# Known in the admin, to be fixed in the admin modules (list_select_related / an inline's
# get_queryset), or per row by design:
ADMIN_KNOWN = [
    # Bulk actions call the one service per selected row, each locking its row (refund,
    # chargeback, cancel, approve a withdrawal, validate or reject an account): per row by
    # design.
    {"model": "products.Sale", "field": "get()"},
    {"model": "subscriptions.Subscription", "field": "get()"},
    {"model": "coproduction.Withdrawal", "field": "get()"},
    {"model": "accounts.AccountValidation", "field": "get()"},
]


def zeal_middleware(get_response):
    def middleware(request):
        with zeal_context():
            if request.path.startswith("/admin/"):
                with zeal_ignore(ADMIN_KNOWN):
                    return get_response(request)
            return get_response(request)

    return middleware
