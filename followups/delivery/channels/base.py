"""What every channel a check-in can go out through provides, and the registry of them.

A channel (email today; texts next) builds its own message for a check-in,
sends it through a session that lasts a batch, tells its failures apart,
and owns its provider's callbacks (bounces, delivery receipts). The sweep,
the claims and the services know channels only through this module: they
ask a check-in's channels for a session, send, and act on the outcome.

Every failure is one of three (``Failure``), whatever the channel:

- **temporary**: worth trying again later (a busy or unreachable server, a
  timeout, the provider's outage or rate limit): the attempt is counted and
  the next one waits a backoff, up to the attempt cap;
- **permanent**: trying again cannot help (an address or number that cannot
  receive, a message the provider refuses): the check-in ends ``failed`` at
  once, with the reason;
- **connection**: the connection dropped under the message: the session
  opens it again and retries the message at once, once; dropped twice, it
  is a temporary failure.
"""

from __future__ import annotations

import abc
import enum
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from django.urls import URLPattern, URLResolver

from followups.models import DeliveryStatus

if TYPE_CHECKING:
    from followups.models import CheckIn

logger = logging.getLogger(__name__)

MessageT = TypeVar("MessageT")


class Failure(enum.Enum):
    TEMPORARY = "temporary"
    PERMANENT = "permanent"
    CONNECTION = "connection"


class Undeliverable(ValueError):
    """This channel cannot reach the patient, whatever its provider would say (no address)."""


@dataclass(frozen=True)
class SendResult:
    """One message's outcome: sent (``failure`` None), or why not."""

    failure: Failure | None = None
    reason: str = ""
    # The provider's id for the message, to match its later callbacks; "" when
    # the provider gives none (plain SMTP).
    provider_message_id: str = ""
    # ``sent``, or ``queued`` when the provider only took it to send later.
    status: DeliveryStatus = DeliveryStatus.SENT
    # The error's class name, for the sweep's report and logs (no addresses).
    error_type: str = ""

    @property
    def sent(self) -> bool:
        return self.failure is None

    @property
    def permanent(self) -> bool:
        return self.failure is Failure.PERMANENT


@dataclass(frozen=True)
class MessageRef:
    """Which message an identifier of ours names: a check-in, its send generation, its kind."""

    checkin_id: int
    send_generation: int
    reminder: bool


@dataclass(frozen=True)
class ProviderEvent:
    """A provider's word about a message after it left: delivered, or failed (a bounce)."""

    channel: str
    status: DeliveryStatus
    # The provider's id for the message, as returned at send time.
    provider_message_id: str = ""
    # Our own identifier of the message, when the provider reports that instead.
    ours: MessageRef | None = None
    error: str = ""
    at: datetime | None = None


# What the services do with a provider's event; returns whether it changed anything.
EventReport = Callable[[ProviderEvent], bool]


class ChannelSession(abc.ABC, Generic[MessageT]):
    """Sending for a batch: one connection, opened when needed and again when dropped."""

    def __init__(self, channel: Channel[MessageT]) -> None:
        self.channel = channel

    @abc.abstractmethod
    def transmit(self, message: MessageT) -> SendResult:
        """Hand ``message`` to the provider; raises what the provider raised."""

    def reset(self) -> None:
        """Forget the connection (closing it if it can be): the next message opens a new one."""

    def send(self, message: MessageT) -> SendResult:
        for attempt in (1, 2):
            try:
                return self.transmit(message)
            except Exception as error:
                failure = self.channel.classify(error)
                self.reset()
                if failure is Failure.CONNECTION and attempt == 1:
                    logger.warning("%s connection dropped (%s); reconnecting",
                                   self.channel.name, type(error).__name__)
                    continue
                if failure is Failure.CONNECTION:
                    failure = Failure.TEMPORARY
                return SendResult(failure, reason=self.channel.reason(error),
                                  error_type=type(error).__name__)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.reset()

    def __enter__(self) -> ChannelSession[MessageT]:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


class Channel(abc.ABC, Generic[MessageT]):
    """A way of reaching patients: its messages, its sessions, its failures, its callbacks."""

    #: The channel's name, as stored on its deliveries and shown by the API.
    name: ClassVar[str]

    @abc.abstractmethod
    def checkin_message(self, checkin: CheckIn, *, token: str, reminder: bool) -> MessageT:
        """The invitation (or reminder) for ``checkin``, holding the link of ``token``.

        Raises ``Undeliverable`` when the patient cannot be reached this way.
        """

    @abc.abstractmethod
    def session(self) -> ChannelSession[MessageT]:
        """A session for a batch of messages; close it (``with``) when the batch is done."""

    @abc.abstractmethod
    def classify(self, error: BaseException) -> Failure:
        """What an error raised while sending means for the message."""

    def reason(self, error: BaseException) -> str:
        """The error as kept on the check-in and its delivery (no more than 250 characters)."""
        return f"{type(error).__name__}: {error}"[:250]

    def urlpatterns(self) -> list[URLPattern | URLResolver]:
        """The provider's callbacks this channel serves (mounted at the site's root)."""
        return []

    def connect(self, *, report: EventReport) -> None:
        """Start passing the provider's events on to ``report``."""


class ChannelRegistry:
    """The channels by name."""

    def __init__(self) -> None:
        self._channels: dict[str, Channel[Any]] = {}

    def register(self, channel: Channel[Any]) -> None:
        self._channels[channel.name] = channel

    def unregister(self, name: str) -> None:
        self._channels.pop(name, None)

    def get(self, name: str) -> Channel[Any]:
        return self._channels[name]

    def __iter__(self) -> Iterator[Channel[Any]]:
        return iter(list(self._channels.values()))


class Sessions:
    """The sessions a batch opened, one per channel, each opened when first needed."""

    def __init__(self) -> None:
        self._open: dict[str, ChannelSession[Any]] = {}

    def of(self, channel: Channel[Any]) -> ChannelSession[Any]:
        if channel.name not in self._open:
            self._open[channel.name] = channel.session()
        return self._open[channel.name]

    def close(self) -> None:
        sessions, self._open = list(self._open.values()), {}
        for session in sessions:
            session.close()

    def __enter__(self) -> Sessions:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
