"""Services for what the user reads: dashboard figures, trade history, backtests."""
