"""Shared foundations: the declarative base, time helpers, the job queue, storage, errors."""
