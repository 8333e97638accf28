"""Message catalogs without GNU gettext: Babel extracts (Python, Django templates through
Django's own `templatize`, Jinja2 fragments through Jinja2's extractor), updates and compiles
the catalogs in locale/. `make messages` refreshes the .po files after strings change;
`make install` compiles them (pybabel compile)."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir, extract_python

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "locale"
# The catalogs that ship besides English (the source language).
CATALOG_LOCALES = ("pt_BR", "es")
DOMAIN = "django"
# gettext's usual rules (CLDR's add a "many" form for millions that nobody translates).
PLURAL_FORMS = {"pt_BR": (2, "(n > 1)"), "es": (2, "(n != 1)")}

KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}

SOURCE_DIRS = ("accounts", "config", "coproduction", "products", "subscriptions", "templates")

METHOD_MAP = [
    ("**/migrations/**", "ignore"),
    ("**/management/commands/seed_demo.py", "ignore"),
    ("**.py", "python"),
    ("**.html", "config.i18n:extract_django"),
    ("**.txt", "config.i18n:extract_django"),
    # The rows of long lists (config/jinja.py): Jinja2's own extractor, newstyle gettext.
    ("**.jinja", "jinja2.ext:babel_extract"),
]
OPTIONS_MAP = {"**.jinja": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}


def extract_django(fileobj, keywords, comment_tags, options):
    """Babel extractor for Django templates: Django turns the template into Python-like text
    (what makemessages hands to xgettext), Babel's Python extractor reads the calls."""
    from django.utils.translation.template import templatize

    source = fileobj.read().decode(options.get("encoding", "utf-8"))
    # Indentation means nothing here; Python's tokenizer would refuse it.
    code = "\n".join(line.lstrip() for line in templatize(source).splitlines())
    yield from extract_python(io.BytesIO(code.encode("utf-8")), keywords, comment_tags, options)


def extract() -> Catalog:
    """Every translatable string of the project's own code and templates, with where it is."""
    catalog = Catalog(domain=DOMAIN, project="coprod", charset="utf-8")
    for directory in SOURCE_DIRS:
        base = ROOT / directory
        for filename, lineno, message, comments, context in extract_from_dir(
            base,
            method_map=METHOD_MAP,
            options_map=OPTIONS_MAP,
            keywords=KEYWORDS,
            comment_tags=("Translators:",),
        ):
            location = (f"{directory}/{filename}", lineno)
            catalog.add(message, None, [location], auto_comments=comments, context=context)
    return catalog


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def read(locale: str) -> Catalog:
    from babel.messages.pofile import read_po

    path = po_path(locale)
    if path.exists():
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=locale, domain=DOMAIN)
    else:
        catalog = Catalog(locale=locale, domain=DOMAIN, project="coprod", version="1")
    catalog.fuzzy = False
    catalog._num_plurals, catalog._plural_expr = PLURAL_FORMS[locale]
    return catalog


def write(catalog: Catalog, locale: str) -> None:
    from babel.messages.pofile import write_po

    path = po_path(locale)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(
            handle, catalog, width=100, sort_output=True, include_previous=False, omit_header=False
        )


def update() -> dict[str, int]:
    """Bring every catalog in line with the code: new strings added untranslated, gone ones
    dropped (no fuzzy guesses: a guess would ship a wrong text). Returns untranslated counts."""
    template = extract()
    counts = {}
    for locale in CATALOG_LOCALES:
        catalog = read(locale)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        write(catalog, locale)
        counts[locale] = len(problems(locale, template=template))
    return counts


def _translated(message) -> bool:
    strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
    return bool(strings) and all(strings)


def problems(locale: str, template: Catalog | None = None) -> list[str]:
    """What keeps `locale` from shipping: strings missing, untranslated or fuzzy, and
    placeholders that differ from the English ones."""
    template = template or extract()
    catalog = read(locale)
    found = []
    for message in template:
        if not message.id:
            continue
        entry = catalog.get(message.id, context=message.context)
        where = f"{message.locations[0][0]}:{message.locations[0][1]}" if message.locations else ""
        if entry is None:
            found.append(f"missing: {message.id!r} ({where})")
        elif entry.fuzzy:
            found.append(f"fuzzy: {message.id!r} ({where})")
        elif not _translated(entry):
            found.append(f"untranslated: {message.id!r} ({where})")
    for entry, errors in catalog.check():
        found.extend(f"{error}: {entry.id!r}" for error in errors)
    return found


def compile_stale() -> None:
    """Compile each catalog whose .mo is missing or older than its .po (test runs, dev)."""
    from babel.messages.mofile import write_mo

    for locale in CATALOG_LOCALES:
        po = po_path(locale)
        mo = po.with_suffix(".mo")
        if po.exists() and (not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime):
            catalog = read(locale)
            with mo.open("wb") as handle:
                write_mo(handle, catalog, use_fuzzy=False)


if __name__ == "__main__":  # python -m config.i18n  (make messages)
    import os
    import sys

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    django.setup()
    for locale, count in update().items():
        print(f"{po_path(locale).relative_to(ROOT)}: {count} to translate")
    sys.exit(0)
