"""The demo data set (`seed/demo.json`), loaded through the seed importer into an empty store."""

from __future__ import annotations

from pathlib import Path

from . import importer
from .importer.report import Report
from .models import Contact, Customer

DEMO_FILE = Path(__file__).resolve().parents[1] / "seed" / "demo.json"


def is_empty() -> bool:
    return Customer.objects.count() == 0 and Contact.objects.count() == 0


def load(path: Path = DEMO_FILE) -> Report:
    return importer.load([path], importer.Options(atomic=True))
