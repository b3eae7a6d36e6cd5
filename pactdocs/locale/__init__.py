"""Languages at work: catalogs (read the way GNU gettext does), checks, locale-bound formatting."""

from __future__ import annotations

from typing import Literal

# The state of one translated text: approved, awaiting a translator's approval, or missing.
Status = Literal["translated", "fuzzy", "untranslated"]
