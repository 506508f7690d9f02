"""Persistence with Peewee on SQLite (embedded default) or PostgreSQL."""
