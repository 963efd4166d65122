"""The timeline HTTP API: department tokens, field policies, JSON errors."""
