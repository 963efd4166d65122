"""Dead-letter tools: read hub.dlq with filters, replay to the original stage."""
