"""The translation stage: raw source events to validated canonical events."""
