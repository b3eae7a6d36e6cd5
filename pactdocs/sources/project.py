"""Where a pactdocs project's inputs live: its letters, house style and frame under
``letter_templates/``, its registry under ``recipients/``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import TemplateError
from .languages import Language, load_languages
from .letters import FRAME_DIR, Letter, load_letter
from .yamlload import load_yaml

if TYPE_CHECKING:
    from .registry import Registry


@dataclass(frozen=True)
class Project:
    """Where a pactdocs project's inputs live."""

    root: Path

    @property
    def templates(self) -> Path:
        return self.root / "letter_templates"

    @property
    def recipients(self) -> Path:
        return self.root / "recipients"

    @property
    def frame_dir(self) -> Path:
        return self.templates / FRAME_DIR

    def catalog_path(self, owner: str, language: str) -> Path:
        """Return the .po file of ``owner`` (a letter name or ``_frame``) for ``language``."""
        return self.templates / owner / "locale" / f"{language}.po"

    def template_path(self, owner: str) -> Path:
        return self.templates / owner / "locale" / "messages.pot"

    def languages(self) -> dict[str, Language]:
        return load_languages(self.frame_dir / "languages.yaml")

    def registry(self) -> Registry:
        from .registry import load_registry

        return load_registry(self.recipients)

    def letter(self, name: str) -> Letter:
        return load_letter(self.templates, name)

    def output_folder(self, letter: str) -> Path:
        """Return where the documents of the letter named ``letter`` go unless ``--out`` says
        otherwise: ``output/<letter>``."""
        return self.root / "output" / letter

    def frame(self) -> Any:
        return load_yaml(self.frame_dir / "frame.yaml", TemplateError)
