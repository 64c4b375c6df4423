"""Retention of the record (policy ``retention``), legal holds, purging evidence bytes past
retention, and backups of the database."""
