"""Administration: the only cross-tenant queries and actions, named so (``all_users``,
``any_bot``...). Every other service is scoped to one owner; these are called only from the
admin blueprint (saas.admin) and the CLI, behind the staff roles."""
