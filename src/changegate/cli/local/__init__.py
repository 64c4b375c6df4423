"""The local backend: each group's operations as services over one database transaction."""
