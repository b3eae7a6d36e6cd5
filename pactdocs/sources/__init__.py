"""What comes in, validated: the YAML loader, registries, letter definitions, the language table."""
