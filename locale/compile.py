"""Compile locale/*/LC_MESSAGES/django.po into the .mo files Django reads.

Run by the install step (Makefile) with polib, pure Python, so a fresh machine
needs no gettext tools; `manage.py compilemessages` (GNU msgfmt) gives the
same files where gettext is installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polib

LOCALE = Path(__file__).resolve().parent


def main() -> int:
    for source in sorted(LOCALE.glob("*/LC_MESSAGES/django.po")):
        catalogue = polib.pofile(str(source))
        catalogue.save_as_mofile(str(source.with_suffix(".mo")))
        print(f"compiled {source.relative_to(LOCALE.parent)} "
              f"({len(catalogue.translated_entries())} messages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
