"""The policy as data: schema, loading and requirement evaluation."""
