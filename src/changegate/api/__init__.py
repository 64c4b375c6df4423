"""The HTTP API (FastAPI). Build it with ``changegate.api.app.create_app(settings)``."""
