"""Keys, identifier protection and signatures."""
