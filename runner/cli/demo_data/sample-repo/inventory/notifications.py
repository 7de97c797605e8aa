"""Outgoing email: low-stock alerts and password reset links."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage

SENDER = "inventory@acme.example"


def _send(settings, to: list[str], subject: str, text: str) -> None:
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message.set_content(text)
    with smtplib.SMTP(settings.smtp_host, timeout=10) as smtp:
        smtp.send_message(message)


def send_low_stock_alert(settings, item, quantity: int) -> None:
    _send(settings, list(settings.alert_recipients), f"Low stock: {item.sku}",
          f"{item.name} ({item.sku}) is down to {quantity} units.")


def send_password_reset_email(settings, email: str, token: str) -> None:
    _send(settings, [email], "Reset your inventory password",
          f"Open https://inventory.acme.example/reset?token={token} to choose a new password.")
