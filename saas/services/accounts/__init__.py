"""Services for who you are and how you prove it: sign-up, sign-in, tokens, 2FA, the audit trail."""
