"""Time load_registry on the sample recipients/ and on a people.yaml of many generated people.

Not a test: run it with `python bench/many_people.py [--people 2700] [--repeat 7]`. It copies
recipients/ into a temporary folder, writes a people.yaml of N invented people there (SAMPLE
data on `.example` domains, varied like the real entries: one or two e-mail addresses, academic
titles, genders, forms of address, languages, countries), checks that both registries load
without a problem, and prints as JSON the median CPU milliseconds of a load, of the YAML
parsing alone, and of a load of the files already parsed (validation by the schemas and building
the records). Each load runs in this process after one warm-up load, so the figures
are the loading and validation themselves, not Python's start or its imports.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pactdocs.errors import RegistryError  # noqa: E402
from pactdocs.sources import registry as registry_module  # noqa: E402
from pactdocs.sources.registry import SECTIONS, load_registry  # noqa: E402
from pactdocs.sources.yamlload import load_yaml  # noqa: E402

FIRST = ("Anna", "Lars", "Camille", "Jonas", "Marta", "Piotr", "Eleni", "Sofia", "Mikko", "Ines")
LAST = ("Berger", "Haugen", "Laurent", "Novak", "Kowalska", "Papadopoulou", "Virtanen", "Silva")
# All 24 languages in turn (a letter to N people is then written in each of them).
LANGUAGES = ("bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr", "hu", "it",
             "lt", "lv", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv")
COUNTRIES = ("NO", "DE", "FR", "NL", "PL", "FI", "GR", "PT", "CH", "IS")
FORMS = ("minister", "director", "director_general", "neutral")


def person(i: int) -> str:
    """Return the YAML of the ``i``-th generated person."""
    gender = ("female", "male", "none")[i % 3]
    title = {"female": "Ms", "male": "Mr", "none": "none"}[gender]
    form = "neutral" if gender == "none" else FORMS[i % len(FORMS)]
    emails = (f"person{i}@org{i % 97}.example" if i % 4 else
              f"[person{i}@org{i % 97}.example, office{i}@org{i % 97}.example]")
    academic = "    academic_title: dr\n" if i % 5 == 0 else ""
    return (
        f"  - id: person-{i:05d}-sample\n"
        f"    title: {title}\n{academic}"
        f"    first_name: {FIRST[i % len(FIRST)]}\n"
        f"    surname: {LAST[i % len(LAST)]}-{i}\n"
        f"    gender: {gender}\n"
        f"    form_of_address: {form}\n"
        f"    function: Head of Department {i % 13}\n"
        f"    language: {LANGUAGES[i % len(LANGUAGES)]}\n"
        f"    organisation: Organisation {i % 211} (SAMPLE)\n"
        f"    address:\n"
        f"      street: \"Example Street {i}\"\n"
        f"      postcode: \"{10000 + i}\"\n"
        f"      city: City {i % 50}\n"
        f"      country: \"{COUNTRIES[i % len(COUNTRIES)]}\"\n"
        f"    email: {emails}\n"
        f"    sample: \"yes\"\n")


def write_people(folder: Path, count: int) -> None:
    """Add ``count`` generated people to ``folder``/people.yaml (the sample's three stay, so
    that the groups naming them still resolve)."""
    path = folder / "people.yaml"
    text = path.read_text(encoding="utf-8").rstrip("\n") + "\n\n"
    text += "".join(person(i) for i in range(count))
    path.write_text(text, encoding="utf-8")


def _median_ms(times: list[float]) -> float:
    return round(statistics.median(times) * 1000, 1)


def timed(root: Path, repeat: int) -> dict[str, float]:
    """Return the median milliseconds (CPU time of this process, which the other processes
    on the machine disturb less than the wall clock) of ``repeat`` loads of ``root``: the whole
    load_registry, the YAML parsing of its files alone, and load_registry with the files
    already parsed (validation and the building of the records)."""
    registry = load_registry(root)  # warm-up; also proves the registry is clean
    assert registry.problems == (), [str(p) for p in registry.problems[:5]]
    parsed = {root / f"{s}.yaml": load_yaml(root / f"{s}.yaml", RegistryError, root,
                                            allow_private=True) for s in SECTIONS}
    loads, parses, rests = [], [], []
    for _ in range(repeat):
        start = time.process_time()
        load_registry(root)
        loads.append(time.process_time() - start)
        start = time.process_time()
        for path in parsed:
            load_yaml(path, RegistryError, root, allow_private=True)
        parses.append(time.process_time() - start)
        original = registry_module.load_yaml
        registry_module.load_yaml = lambda path, *args, **kwargs: parsed[path]  # type: ignore
        try:
            start = time.process_time()
            load_registry(root)
            rests.append(time.process_time() - start)
        finally:
            registry_module.load_yaml = original
    return {"load_ms": _median_ms(loads), "yaml_ms": _median_ms(parses),
            "validate_build_ms": _median_ms(rests), "recipients": len(registry.recipients)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=2700)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    result = {"sample": timed(ROOT / "recipients", args.repeat)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "recipients"
        shutil.copytree(ROOT / "recipients", folder)
        write_people(folder, args.people)
        result[f"people_{args.people}"] = timed(folder, args.repeat)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
