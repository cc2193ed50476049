"""Demo records for `seed_demo`, one module per area.

Each module defines ``ORDER`` (an int: lower runs first) and
``seed(*, school, year, staff)`` where ``staff`` maps the demo usernames (admin,
registry, curriculum, affairs, counsellor, consultant, homeroom, teacher, group) to
users. Every ``seed`` is idempotent: running it again changes nothing.
"""

import importlib
import pkgutil


def seed_all(*, school, year, staff) -> None:
    modules = [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in pkgutil.iter_modules(__path__)
    ]
    for module in sorted(modules, key=lambda m: m.ORDER):
        module.seed(school=school, year=year, staff=staff)
