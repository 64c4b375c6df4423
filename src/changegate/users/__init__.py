"""People and their roles (roles come from the policy)."""
