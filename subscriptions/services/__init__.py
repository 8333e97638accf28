"""Writes on subscriptions: lifecycle, subscribing, billing, payment details, webhooks."""
