"""Services for what a bot is and may do: lifecycle, edits, pairs, run config, keys, limits."""
