"""Services for how a bot runs safely: the journal, the per-bot lock, scheduling."""
