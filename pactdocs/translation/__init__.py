"""What translators use: catalog maintenance, bilingual review documents, XLIFF exchange."""
