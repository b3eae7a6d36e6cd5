"""Quick start-up parts of the PDF writer give the answers of the parts they stand in for:
hyphenation patterns parsed on demand hyphenate every word as Pyphen does, in each of the 24
languages that has a dictionary, and the library look-up names the libraries ldconfig names."""

from __future__ import annotations

import ctypes.util
import re

import pyphen
import pytest
from conftest import ROOT

from pactdocs.sources.languages import load_languages
from pactdocs.writers import weasy
from pactdocs.writers.hyphenation import QuickHyphDict

# Pyphen's own class (once PDFs are written in this process, pyphen.HyphDict is the quick one).
PyphenHyphDict = QuickHyphDict.__bases__[0]

LANGUAGES = sorted(load_languages(ROOT / "letter_templates" / "_frame" / "languages.yaml"))


def words_of(language: str) -> list[str]:
    """The words of the language's catalogs, and a few long compounds made of them."""
    name = "messages.pot" if language == "en" else f"{language}.po"
    text = " ".join(p.read_text(encoding="utf-8")
                    for p in (ROOT / "letter_templates").glob(f"*/locale/{name}"))
    words = sorted(set(re.findall(r"[^\W\d_]{4,}", text)))
    return words + ["".join(words[i:i + 3]) for i in range(0, len(words) - 3, 7)]


@pytest.mark.parametrize("language", LANGUAGES)
def test_quick_patterns_hyphenate_as_pyphen_does(language: str) -> None:
    fallback = pyphen.language_fallback(language)
    if fallback is None:
        assert language in ("fi", "ga", "mt"), f"{language} lost its hyphenation dictionary"
        return
    path = pyphen.LANGUAGES[fallback]
    slow, quick = PyphenHyphDict(path), QuickHyphDict(path)
    assert quick.maxlen == slow.maxlen
    words = words_of(language)
    assert len(words) > 300, language
    for word in words:
        expected = [(int(p), getattr(p, "data", None)) for p in slow.positions(word)]
        assert [(int(p), getattr(p, "data", None)) for p in quick.positions(word)] == expected, word
    # Every pattern Pyphen keeps is there, with the same points; none that Pyphen drops.
    assert {k for k in quick.patterns if quick.patterns.get(k) is not None} == set(slow.patterns)
    assert all(quick.patterns.get(k) == v for k, v in slow.patterns.items())


def test_nonstandard_hyphenation_is_kept() -> None:
    """Hungarian breaks 'ssz' as 'sz-sz': Pyphen's alternative data survives the quick parse."""
    path = pyphen.LANGUAGES[pyphen.language_fallback("hu")]
    quick = pyphen.Pyphen(lang="hu")
    quick.hd = QuickHyphDict(path)
    slow = pyphen.Pyphen(lang="hu")
    slow.hd = PyphenHyphDict(path)
    for word in ("asszony", "hosszú", "visszaküld", "összeg"):
        assert quick.inserted(word) == slow.inserted(word), word
    assert quick.inserted("asszony") == "asz-szony"


@pytest.mark.parametrize("name", ["gobject-2.0", "pango-1.0", "harfbuzz", "harfbuzz-subset",
                                  "fontconfig", "pangoft2-1.0", "c", "m",
                                  "no-such-library-pactdocs"])
def test_library_lookup_names_what_ldconfig_names(name: str) -> None:
    assert weasy.find_in_linker_path(name) == ctypes.util.find_library(name)
