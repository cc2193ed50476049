"""The platform operator (a superuser in no school), a signed-in client for them, and the
sign-in link the invitation e-mail carries."""

import re

from django.core import mail
from django.test import Client

from accounts.models import User
from tests.builders.people import PASSWORD

LINK = re.compile(r"https?://\S+?/accounts/\S+/")


def make_operator(username: str = "olga") -> User:
    return User.objects.create_superuser(
        username=username, email=f"{username}@platform.example", password=PASSWORD
    )


def operator_client(user: User | None = None) -> Client:
    client = Client()
    client.force_login(user or make_operator())
    return client


def mailed_link(to: str) -> str:
    """The link of the latest e-mail sent to ``to`` (its text body)."""
    sent = [message for message in mail.outbox if to in message.to]
    assert sent, f"nothing was mailed to {to}"
    found = LINK.search(sent[-1].body)
    assert found, sent[-1].body
    return found.group(0)
