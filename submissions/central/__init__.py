"""The central database's roster format, one module per specification version.

``spec_for(roc_year)`` names the module that describes the rosters of a school year; a new
specification is a new module beside ``v108`` and one line in ``SPECS``.
"""

from types import ModuleType

from submissions.central import v108

# (first school year it applies to, module), oldest first.
SPECS: list[tuple[int, ModuleType]] = [(108, v108)]


def spec_for(roc_year: int) -> ModuleType:
    chosen = SPECS[0][1]
    for first_year, module in SPECS:
        if roc_year >= first_year:
            chosen = module
    return chosen
