"""Services: the rules of the data layer, callable without a request (web app, runner, CLI)."""
