"""The tests' clock reaches every reader of the database's clock.

The product reads the time from PostgreSQL (``core.clock``); tests travel
in time with time-machine, which moves only this process's clock, so
tests/conftest.py points every reader at the test's clock. A module that
imports ``database_now`` under its own name and is missed there reads the
real time instead, and its test passes or fails with the hour the suite
runs at (.ci/run runs it again at 03:00).
"""

from __future__ import annotations

import importlib
import sys
import types
from datetime import UTC, datetime

import pytest
import time_machine

AFAR = datetime(2031, 7, 1, 12, 0, tzinfo=UTC)

# The product's modules that read the database's clock under their own name.
READERS = ["core.clock", "followups.delivery.clock", "health.clock", "health.checks",
           "followups.desk.snapshot"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", READERS)
def test_a_module_reading_the_database_clock_reads_the_tests_clock(name):
    module = importlib.import_module(name)

    with time_machine.travel(AFAR, tick=False):
        assert module.database_now() == AFAR


# A module first imported during a test binds the test's clock from core.clock;
# the next test must not inherit it. The two tests below run in this order.
LATE_READER = "tests.late_database_clock_reader"


def test_a_module_first_imported_during_a_test_reads_the_tests_clock():
    module = types.ModuleType(LATE_READER)
    exec("from core.clock import database_now", module.__dict__)
    sys.modules[LATE_READER] = module

    with time_machine.travel(AFAR, tick=False):
        assert module.database_now() == AFAR


@pytest.mark.real_database_clock
def test_after_that_test_the_module_reads_the_databases_clock_again():
    import core.clock

    module = sys.modules.pop(LATE_READER, None)
    assert module is not None, "runs after test_a_module_first_imported_during_a_test_..."
    assert module.database_now is core.clock.database_now
    assert core.clock.database_now.__module__ == "core.clock"
