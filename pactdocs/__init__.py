"""pactdocs: one official letter, many recipients, 24 languages, PDF and DOCX."""

from __future__ import annotations

__version__ = "0.1.0"
