"""Imports of the submissions area, registered with the records import engine."""

from records.imports import register
from submissions.imports.performances import MESSAGES, WHAT, PerformancesImport

register(PerformancesImport(), codes=MESSAGES, what=WHAT)
