"""Plumbing for management commands: a refused change said in one line."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError


def command_error(error: ValidationError) -> CommandError:
    """A service's ValidationError as the one line an operator reads, naming each field."""
    if hasattr(error, "message_dict"):
        text = "; ".join(f"{field}: {' '.join(messages)}"
                         for field, messages in error.message_dict.items())
    else:
        text = " ".join(error.messages)
    return CommandError(text)
