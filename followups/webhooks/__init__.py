"""Webhooks: other systems told of escalations and answers, signed, retried under a lease."""
