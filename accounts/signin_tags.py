"""Template tags of the sign-in with the school's accounts (registered as ``signin`` in
settings.TEMPLATES): the school picker on allauth's sign-in page, whose view is allauth's."""

from django import template

from accounts.signin_forms import SchoolPickForm, pick_form

register = template.Library()


@register.simple_tag(takes_context=True)
def school_signin_form(context) -> SchoolPickForm | None:
    """``{% school_signin_form as signin_form %}``: None when no school offers its accounts."""
    return pick_form(context["request"])
