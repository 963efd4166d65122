"""What every service shares: settings, broker connection, topics, HTTP, metrics and logs."""
