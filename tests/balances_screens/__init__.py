"""The Balance page, the withdraw flow and the payout webhook view (issue 12, screens)."""
