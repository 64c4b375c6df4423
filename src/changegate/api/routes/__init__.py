"""API routers, one module per area; each endpoint calls the same services as the CLI."""
