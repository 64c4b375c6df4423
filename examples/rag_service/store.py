"""SQLite document store with embeddings and tenant-filtered retrieval."""

from __future__ import annotations

import re
import sqlite3
import threading
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class Embedder(Protocol):
    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


@dataclass(frozen=True)
class Hit:
    tenant: str
    doc_id: str
    text: str
    score: float


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def chunk_text(text: str, max_chars: int = 400) -> list[str]:
    """Split into chunks of whole sentences, at most ``max_chars`` each where possible."""
    chunks: list[str] = []
    current = ""
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        for sentence in _SENTENCE.split(paragraph.strip()):
            if not sentence:
                continue
            if current and len(current) + 1 + len(sentence) > max_chars:
                chunks.append(current)
                current = sentence
            else:
                current = f"{current} {sentence}".strip()
        if current:
            chunks.append(current)
            current = ""
    return chunks or [text.strip()]


class RagStore:
    """Documents, chunks and per-tenant system prompts in one SQLite database.

    ``tenant_filter=False`` drops the ``WHERE tenant = ?`` from retrieval: the bug the
    tenant isolation check exists to catch.
    """

    def __init__(self, db_path: str, embedder: Embedder, *, tenant_filter: bool = True) -> None:
        self.embedder = embedder
        self.tenant_filter = tenant_filter
        self._lock = threading.Lock()
        self._db = sqlite3.connect(db_path, check_same_thread=False)
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS chunks (
                id INTEGER PRIMARY KEY,
                tenant TEXT NOT NULL,
                doc_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                text TEXT NOT NULL,
                embedding BLOB NOT NULL
            );
            CREATE INDEX IF NOT EXISTS chunks_tenant ON chunks (tenant);
            CREATE TABLE IF NOT EXISTS system_prompts (
                tenant TEXT PRIMARY KEY,
                text TEXT NOT NULL
            );
            """
        )

    def close(self) -> None:
        self._db.close()

    def ingest(self, tenant: str, doc_id: str, text: str) -> int:
        """Store (or replace) a document; returns the number of chunks."""
        pieces = chunk_text(text)
        vectors = self.embedder.embed(pieces)
        with self._lock, self._db:
            self._db.execute("DELETE FROM chunks WHERE tenant = ? AND doc_id = ?", (tenant, doc_id))
            self._db.executemany(
                "INSERT INTO chunks (tenant, doc_id, seq, text, embedding) VALUES (?, ?, ?, ?, ?)",
                [
                    (tenant, doc_id, i, piece, array("f", vec).tobytes())
                    for i, (piece, vec) in enumerate(zip(pieces, vectors, strict=True))
                ],
            )
        return len(pieces)

    def search(self, tenant: str, question: str, top_k: int) -> list[Hit]:
        [query] = self.embedder.embed([question])
        sql = "SELECT tenant, doc_id, text, embedding FROM chunks"
        params: tuple[str, ...] = ()
        if self.tenant_filter:
            sql += " WHERE tenant = ?"
            params = (tenant,)
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        hits = []
        for row_tenant, doc_id, text, blob in rows:
            vec = array("f")
            vec.frombytes(blob)
            score = sum(a * b for a, b in zip(query, vec, strict=True))
            hits.append(Hit(row_tenant, doc_id, text, score))
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:top_k]

    def set_system_prompt(self, tenant: str, text: str) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO system_prompts (tenant, text) VALUES (?, ?) "
                "ON CONFLICT (tenant) DO UPDATE SET text = excluded.text",
                (tenant, text),
            )

    def system_prompt(self, tenant: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT text FROM system_prompts WHERE tenant = ?", (tenant,)
            ).fetchone()
        return str(row[0]) if row else None
