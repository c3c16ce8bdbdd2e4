"""X-Real-IP is the client's address only when our proxy wrote it (TRUSTED_PROXIES).

Straight to gunicorn, anyone can write the header: believed from any sender,
it gave each guess at a patient's link a fresh budget and moved the
lockout's address wherever the guesser liked.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
import yaml
from axes.models import AccessAttempt
from django.test import Client, RequestFactory

from core.client_address import client_address

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
MADE_UP_LINK = "/c/" + "A" * 43 + "/"


@pytest.fixture
def behind_proxy(settings):
    settings.BEHIND_PROXY = True
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("127.0.0.0/8"),
                                ipaddress.ip_network("10.247.91.0/24")]
    return settings


def seen_as(*, sender: str, real_ip: str | None) -> str | None:
    headers = {"HTTP_X_REAL_IP": real_ip} if real_ip is not None else {}
    return client_address(RequestFactory().get("/", REMOTE_ADDR=sender, **headers))


def test_it_believes_x_real_ip_from_a_trusted_proxy(behind_proxy):
    assert seen_as(sender="10.247.91.5", real_ip="203.0.113.9") == "203.0.113.9"
    assert seen_as(sender="127.0.0.1", real_ip="2001:db8::7") == "2001:db8::7"
    # A proxy listening on [::] sees IPv4 senders as IPv4-mapped addresses.
    assert seen_as(sender="::ffff:10.247.91.5", real_ip="203.0.113.9") == "203.0.113.9"


def test_it_ignores_x_real_ip_from_any_other_sender(behind_proxy):
    assert seen_as(sender="198.51.100.4", real_ip="203.0.113.9") == "198.51.100.4"
    assert seen_as(sender="10.247.92.5", real_ip="203.0.113.9") == "10.247.92.5"


def test_it_keeps_the_senders_address_when_the_proxys_header_is_missing_or_bad(behind_proxy):
    assert seen_as(sender="10.247.91.5", real_ip=None) == "10.247.91.5"
    assert seen_as(sender="10.247.91.5", real_ip="not an address") == "10.247.91.5"


def test_it_ignores_x_real_ip_altogether_unless_behind_the_proxy(settings):
    settings.BEHIND_PROXY = False

    assert seen_as(sender="127.0.0.1", real_ip="203.0.113.9") == "127.0.0.1"


def test_a_forged_header_straight_to_gunicorn_buys_no_more_link_guesses(behind_proxy):
    limit, _ = behind_proxy.PATIENT_LINK_RATE_LIMIT

    statuses = [Client(REMOTE_ADDR="198.51.100.4", HTTP_X_REAL_IP=f"203.0.113.{n}")
                .get(MADE_UP_LINK).status_code for n in range(limit + 15)]

    assert statuses[:limit] == [404] * limit
    assert set(statuses[limit:]) == {429}


def test_the_proxys_header_still_gives_each_client_its_own_budget(behind_proxy):
    limit, _ = behind_proxy.PATIENT_LINK_RATE_LIMIT
    for _ in range(limit):
        Client(REMOTE_ADDR="10.247.91.2", HTTP_X_REAL_IP="203.0.113.1").get(MADE_UP_LINK)

    spent = Client(REMOTE_ADDR="10.247.91.2", HTTP_X_REAL_IP="203.0.113.1").get(MADE_UP_LINK)
    other = Client(REMOTE_ADDR="10.247.91.2", HTTP_X_REAL_IP="203.0.113.2").get(MADE_UP_LINK)

    assert spent.status_code == 429
    assert other.status_code == 404


def test_a_forged_header_does_not_move_the_lockouts_address(behind_proxy, staff):
    Client(REMOTE_ADDR="198.51.100.4", HTTP_X_REAL_IP="203.0.113.50").post(
        "/admin/login/", {"username": "nurse", "password": "wrong", "otp_token": ""})

    assert AccessAttempt.objects.get().ip_address == "198.51.100.4"


def test_it_trusts_the_loopback_and_the_compose_network_by_default():
    from clinic import settings as production

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    subnets = [ipaddress.ip_network(pool["subnet"])
               for pool in compose["networks"]["default"]["ipam"]["config"]]
    trusted = production.TRUSTED_PROXIES

    assert subnets and all(any(subnet.subnet_of(network) for network in trusted
                               if network.version == subnet.version) for subnet in subnets)
    assert ipaddress.ip_network("127.0.0.0/8") in trusted
    assert ipaddress.ip_network("::1/128") in trusted
    assert not any(ipaddress.ip_address("198.51.100.4") in network for network in trusted)
