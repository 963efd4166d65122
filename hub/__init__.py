"""Handoff routing services: translator, identity, router, timeline and their runtime."""

__version__ = "0.1.0"
