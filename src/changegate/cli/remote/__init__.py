"""The remote backend: each group's operations over the server's API."""
