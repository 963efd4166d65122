"""Identity resolution: source identities to golden customer ids."""
