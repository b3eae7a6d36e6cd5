"""Instructions, not seconds: what one more recipient costs at 27, 270 and 2,700 recipients.

Not a test: `python bench/instructions.py` (or `python bench/bench.py --only instructions`).
This machine's speed moves by half from one minute to the next, more than the 5 % a linearity
claim needs; valgrind's callgrind counts the instructions a process executes, the same count
whatever else the machine does. Two counts, for each size of registry (bench/many_people.py's
generated people, in the 24 languages in turn):

- one letter: a process loads the project and renders the letters of people 1-3 (Bulgarian,
  Czech, Danish), and another those and people 25-27 (the same three languages again), in PDF
  and DOCX; the difference over 3 is what one letter costs with that many people in the
  registry (start-up, the registry's load, each language's first document: the same in both,
  so they drop out);
- the whole run's bookkeeping: `pactdocs merge --dry-run` for everyone (the registry loaded and
  checked, every document's inputs hashed, the state looked up), per recipient between sizes.

Linear: the first equal at every size; the second's per-recipient cost the same between 27 and
270 as between 270 and 2,700.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
SIZES = (27, 270, 2700)
FIRST = [0, 1, 2]  # people in bg, cs, da
MORE = [24, 25, 26]  # three more in the same languages (the generated people take them in turn)
LETTER = "pact-implementation"

RENDER = """
import sys
from pathlib import Path
from pactdocs.compose import Composer, Project
from pactdocs.writers import get_writer
root, chosen = Path(sys.argv[1]), [int(i) for i in sys.argv[2].split(",")]
project = Project(root)
letter = project.letter("pact-implementation")
registry = project.registry()
composer = Composer(project, letter, registry)
style = project.templates / "_style"
pdf, docx = get_writer("pdf", style), get_writer("docx", style)
part = letter.part("letter")
everyone = [r for r in registry.recipients if r.startswith("person-")]
people = [everyone[i] for i in chosen]
for who in people:
    recipient = registry.recipients[who]
    document = composer.compose(part, who, recipient.language)
    pdf.write(document)
    docx.write(document)
"""


def counted(command: list[str]) -> int:
    """Return the instructions ``command`` executes (callgrind's 'Collected' total)."""
    with tempfile.TemporaryDirectory() as tmp:
        # One hash seed: the same dictionaries probe the same slots in every run.
        proc = subprocess.run(["valgrind", "--tool=callgrind",
                               f"--callgrind-out-file={tmp}/cg.out", *command],
                              capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": "0"})
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or found is None:
        sys.exit(f"failed under valgrind ({proc.returncode}): {command}\n{proc.stderr[-2000:]}")
    return int(found.group(1))


def measure(work: Path) -> dict[str, Any]:
    from scaling import project_with_people

    if shutil.which("valgrind") is None:
        return {"skipped": "valgrind is not installed"}
    per_letter: dict[int, float] = {}
    dry_run: dict[int, int] = {}
    for count in SIZES:
        project = project_with_people(count, work)
        first = counted([sys.executable, "-c", RENDER, str(project),
                         ",".join(map(str, FIRST))])
        more = counted([sys.executable, "-c", RENDER, str(project),
                        ",".join(map(str, FIRST + MORE))])
        per_letter[count] = (more - first) / len(MORE)
        dry_run[count] = counted([sys.executable, "-m", "pactdocs.cli", "--project",
                                  str(project), "merge", LETTER, "--to", "bench", "--format",
                                  "pdf,docx", "--out", str(work / f"dry-{count}"), "--dry-run",
                                  "--quiet"])
        print(f"  {count} recipients: one letter (PDF + DOCX) {per_letter[count] / 1e6:.1f} M "
              f"instructions; the dry run of all {count} {dry_run[count] / 1e6:.0f} M",
              flush=True)
        shutil.rmtree(project, ignore_errors=True)
    small, middle, large = SIZES
    marginal_small = (dry_run[middle] - dry_run[small]) / (middle - small)
    marginal_large = (dry_run[large] - dry_run[middle]) / (large - middle)
    result = {
        "letter_instructions": {str(n): v for n, v in per_letter.items()},
        "letter_2700_vs_27": per_letter[large] / per_letter[small],
        "letter_2700_vs_270": per_letter[large] / per_letter[middle],
        "dry_run_instructions": {str(n): v for n, v in dry_run.items()},
        "dry_run_per_recipient": {f"{small}-{middle}": marginal_small,
                                  f"{middle}-{large}": marginal_large},
        "dry_run_marginal_ratio": marginal_large / marginal_small,
    }
    print(f"  one letter at 2,700 recipients: {result['letter_2700_vs_27']:.4f}x its cost at 27, "
          f"{result['letter_2700_vs_270']:.4f}x at 270; the run's bookkeeping for one more "
          f"recipient: {marginal_small / 1e6:.2f} M instructions between {small} and {middle}, "
          f"{marginal_large / 1e6:.2f} M between {middle} and {large:,} "
          f"({result['dry_run_marginal_ratio']:.4f}x)", flush=True)
    return result


if __name__ == "__main__":
    work = Path(tempfile.mkdtemp(prefix="pactdocs-bench-instructions-"))
    try:
        print(json.dumps(measure(work), indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
