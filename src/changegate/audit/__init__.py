"""Append-only, hash-chained audit record: every mutation, verifiable and exportable."""
