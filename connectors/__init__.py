"""Source-system connectors (one package per system) and the kit they are built with."""
