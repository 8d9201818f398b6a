"""Email over SMTP (smtplib): STARTTLS, implicit TLS or plain, with a login when the channel
has a user. The Message-ID is derived from the delivery's id, so a repeat of the same
delivery carries the same id and mail systems can drop it."""

from __future__ import annotations

import json
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from adapters.senders.http_post import DEFAULT_TIMEOUT_SECONDS
from domain.notification_text import summary_line, text_body
from notifier.ports import Outgoing, SendResult

# SMTP replies that say the message will never be accepted as sent (5xx) vs. try later (4xx).
_PERMANENT_FROM = 500


def message_for(outgoing: Outgoing) -> EmailMessage:
    config, payload = outgoing.config, outgoing.payload
    message = EmailMessage()
    message["Subject"] = summary_line(payload)
    message["From"] = config["from"]
    message["To"] = ", ".join(config["to"])
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<{outgoing.idempotency_key}@jobledger>"
    message["Idempotency-Key"] = outgoing.idempotency_key
    message.set_content(text_body(payload))
    message.add_attachment(
        json.dumps(payload, indent=2, ensure_ascii=False).encode(),
        maintype="application",
        subtype="json",
        filename="notification.json",
    )
    return message


class EmailSender:
    """Sends through the channel's SMTP server."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        # Tests pass a context trusting their own certificate; production verifies normally.
        self._context = ssl_context

    def send(self, outgoing: Outgoing) -> SendResult:
        config = outgoing.config
        timeout = float(config.get("timeout_seconds") or DEFAULT_TIMEOUT_SECONDS)
        context = self._context or ssl.create_default_context()
        security = config.get("security", "starttls")
        smtp: smtplib.SMTP
        try:
            if security == "tls":
                smtp = smtplib.SMTP_SSL(
                    config["host"], config["port"], timeout=timeout, context=context
                )
            else:
                smtp = smtplib.SMTP(config["host"], config["port"], timeout=timeout)
            with smtp:
                if security == "starttls":
                    smtp.starttls(context=context)
                if config.get("user"):
                    smtp.login(config["user"], outgoing.secrets.get("password", ""))
                smtp.send_message(message_for(outgoing))
        except smtplib.SMTPResponseException as error:
            code = error.smtp_code
            return SendResult(
                False, status_code=code, error=f"SMTP {code}", permanent=code >= _PERMANENT_FROM
            )
        except smtplib.SMTPRecipientsRefused:
            return SendResult(False, error="every recipient was refused", permanent=True)
        except (OSError, smtplib.SMTPException) as error:
            return SendResult(False, error=f"SMTP failed ({type(error).__name__})")
        return SendResult(True, status_code=250)
