"""``python -m bench --scale`` as an operator runs it, on 4 clinics grown to 8, then to 16.

The timings of so small a network say nothing; what is checked is that the
benchmark builds, keeps and grows its databases, measures every page as the
three people at both sizes with every page answering, that a page's statements
are the same whatever the size of the network, and that its year-long export
of every clinic completes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from core.env import env_bool

pytestmark = pytest.mark.skipif(
    env_bool("DATABASE_TRANSACTION_POOLING", False),
    reason="run once, against PostgreSQL directly: the benchmark makes its own databases")

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "aftercare_scale_bench_suite"
PAGES = 14  # bench.scale._pages
PEOPLE = ("clinic", "network", "group")


def bench(*arguments: str, url: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DJANGO_", "DATABASE_"))}
    return subprocess.run([sys.executable, "-m", "bench", "--scale", "--database-url", url,
                           *arguments], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600, check=False)


@pytest.fixture
def scale_url():
    url = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
    yield url
    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres",
                         autocommit=True) as connection:
        for name in (DATABASE, DATABASE + "_1x"):
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def table_rows(text: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("|").split("|")]
            for line in text.splitlines()
            if line.startswith("| ") and not line.startswith("| user")]


def test_it_measures_every_page_at_both_sizes_in_the_same_statements(scale_url, tmp_path):
    output = tmp_path / "scale.md"

    built = bench("--tiny", "--factor", "2", "--output", str(output), url=scale_url)

    assert built.returncode in (0, 1), built.stderr[-3000:]  # 1: a timing target missed
    rows = table_rows(output.read_text())
    assert len(rows) == PAGES * len(PEOPLE)
    assert {row[0] for row in rows} == set(PEOPLE)
    assert "HTTP" not in output.read_text()  # every page answered 200 at both sizes
    for user, page, *_timings, statements, _ratio, _verdict in rows:
        small, big = (int(count) for count in statements.split(" / "))
        assert small == big, f"{user}, {page}: {statements} statements at 1× / 2×"

    again = tmp_path / "again.md"
    remeasured = bench("--remeasure", "--repeats", "1", "--output", str(again), url=scale_url)
    assert remeasured.returncode in (0, 1), remeasured.stderr[-3000:]
    assert "4 and 8 clinics" in again.read_text()
    assert len(table_rows(again.read_text())) == PAGES * len(PEOPLE)

    grown = bench("--grow-by", "2", url=scale_url)  # a network grown a second time
    assert grown.returncode == 0, grown.stderr[-3000:]
    with psycopg.connect(scale_url) as connection:
        clinics, names = connection.execute(
            "SELECT count(*), count(DISTINCT name) FROM patients_clinic").fetchone()
    assert clinics == names == 16

    exported = bench("--export", url=scale_url)
    assert exported.returncode == 0, exported.stderr[-3000:]
    counts = dict(re.findall(r"^\| (answers|queue) \| ([\d,]+) \|", exported.stdout, re.M))
    assert int(counts["answers"].replace(",", "")) > 0
    assert int(counts["queue"].replace(",", "")) > 0


def test_a_failed_load_still_gives_the_tables_their_indexes_back():
    from bench.datagen import _secondary_indexes_dropped

    name = "aftercare_index_restore_suite"
    server = "postgres://postgres@127.0.0.1:5432/"
    with psycopg.connect(server + "postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(server + name, autocommit=False) as connection:
            connection.execute("CREATE TABLE loaded (id int PRIMARY KEY, day int)")
            connection.execute("CREATE INDEX loaded_day ON loaded (day) WHERE day > 1")
            connection.commit()

            with pytest.raises(psycopg.errors.UniqueViolation), \
                    _secondary_indexes_dropped(connection, ["loaded"]):
                connection.execute("INSERT INTO loaded VALUES (1, 2), (1, 3)")

            indexes = connection.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'loaded' ORDER BY 1"
            ).fetchall()
            rows = connection.execute("SELECT count(*) FROM loaded").fetchone()[0]
    finally:
        with psycopg.connect(server + "postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    assert [index for (index,) in indexes] == [
        "CREATE INDEX loaded_day ON public.loaded USING btree (day) WHERE (day > 1)",
        "CREATE UNIQUE INDEX loaded_pkey ON public.loaded USING btree (id)"]
    assert rows == 0
