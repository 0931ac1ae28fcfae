"""Where a user's notifications go (the notification_settings row)."""
