"""Notification services: the outbox, preferences, Telegram linking, webhooks and delivery."""
