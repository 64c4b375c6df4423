"""Authentication: API tokens, passwords, web sessions and login throttling."""
