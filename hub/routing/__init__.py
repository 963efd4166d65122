"""Routing of canonical events to departments, with per-department field policies."""
