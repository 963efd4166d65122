"""Timelines: every event of an order or a customer once, in order, with process state."""
