"""The web UI's tests use the server fixtures of tests/api (one app per backend per module)."""

from tests.api.conftest import org

__all__ = ["org"]
