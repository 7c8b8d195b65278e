"""Webhook subscriptions: named queries' new events sent to the subscribers' endpoints, signed."""
