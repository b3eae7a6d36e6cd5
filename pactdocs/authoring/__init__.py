"""Authoring: new letters (``pactdocs new``), from scratch or from a Word draft."""
