"""The one payment path: gateway protocol and simulator, payment methods, attempts, incoming
webhooks, and the two services every caller uses (start attempts, record outcomes)."""
