"""What a service finds wrong with its input: messages collected per field, raised together.

Services check every rule before refusing, so a form shows all its problems at once, each
next to its field (``portfolio.forms.apply_errors`` puts them there).
"""

from django.core.exceptions import ValidationError

Problems = dict[str, list[str]]


def add_problem(problems: Problems, field: str, message: str) -> None:
    problems.setdefault(field, []).append(message)


def raise_if(problems: Problems) -> None:
    """Refuse with every problem found, if there is any."""
    if problems:
        raise ValidationError(problems)
