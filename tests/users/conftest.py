"""The API app per backend (the tests of admin segregation of duties drive it)."""

from tests.api.conftest import org

__all__ = ["org"]
