"""AI/GenAI governance (policy section 10): classify AI changes and check AI behaviour.

The modules here are pure: they read text, call targets and return reports, and never
touch the database. Heavy dependencies (sentence-transformers, torch, jsonschema) are
imported only inside the functions that need them.
"""
