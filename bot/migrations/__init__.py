"""Alembic migrations of the back-end schema (``bot migrate``); shipped in the wheel with their versions."""
