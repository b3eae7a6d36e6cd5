"""The register of outgoing correspondence: SQLite, append-only, one item per message sent."""
