"""``python -m examples.rag_service [--host 127.0.0.1] [--port 8765]``."""

from __future__ import annotations

import argparse
import os


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m examples.rag_service",
        description="Reference multi-tenant RAG service. Env: RAG_TENANT_FILTER=off breaks "
        "the tenant filter, RAG_LEAK_SYSTEM_PROMPT=on leaks the system prompt, RAG_DB_PATH, "
        "RAG_TOP_K.",
    )
    parser.add_argument("--host", default=os.environ.get("RAG_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("RAG_PORT", "8765")))
    args = parser.parse_args(argv)

    import uvicorn

    from .app import create_app

    uvicorn.run(create_app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
