"""A real SMTP server for the tests of e-mail (aiosmtpd, in a thread on a free port).

    with smtp_server() as server:
        settings.EMAIL_PORT = server.port
        ...
        server.messages   # each received message, parsed (email.message.EmailMessage)

``refuse`` makes it answer every recipient with a temporary failure (451), as a mail server
that is up but not accepting mail would.
"""

import contextlib
import email
import email.policy
import threading
from collections.abc import Iterator
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.builders.services import free_port


class _Collect:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse = False
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, handler: _Collect, controller: Controller, port: int) -> None:
        self.handler = handler
        self.controller = controller
        self.port = port

    @property
    def messages(self) -> list[EmailMessage]:
        with self.handler.lock:
            return list(self.handler.messages)

    def refuse(self, on: bool = True) -> None:
        self.handler.refuse = on

    def stop(self) -> None:
        self.controller.stop()


@contextlib.contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    handler = _Collect()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    server = SmtpServer(handler, controller, port)
    try:
        yield server
    finally:
        with contextlib.suppress(Exception):
            controller.stop()
