"""Change requests and their lifecycle."""
