"""Real servers a test starts for itself on loopback: moto's S3 server, Redis with Sentinel.

Each runs as a child process on a spare port, in its own process group, its
output kept under the test's tmp_path. In CI a missing program is a failure;
elsewhere the test skips.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.support.net import free_port
from tests.support.processes import ManagedProcess, ProcessGroup
from tests.support.waiting import wait_until


def program(name: str, *, hint: str) -> str:
    """The path of ``name`` (this virtualenv's first), or fail in CI / skip elsewhere."""
    beside_python = Path(sys.executable).parent / name
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if found:
        return found
    if IN_CI:
        pytest.fail(f"CI must run this test: {name} is missing ({hint})")
    pytest.skip(f"needs {name} ({hint})")


def listening(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_listening(process: ManagedProcess, port: int, *, timeout: float = 30) -> None:
    def up() -> bool:
        assert process.alive(), f"{process.name} exited:\n{process.tail()}"
        return listening(port)

    wait_until(up, timeout=timeout, message=f"{process.name} on port {port}")


# S3 ---------------------------------------------------------------------------------


@dataclass
class ObjectStore:
    """moto's S3 server and one empty bucket on it."""

    endpoint_url: str
    bucket: str
    process: ManagedProcess
    region: str = "eu-west-2"
    access_key: str = "test-access-key"
    secret_key: str = "test-secret-key"

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name=self.region,
                            aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key)

    def keys(self) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=self.bucket)
        return [entry["Key"] for entry in listing.get("Contents", [])]

    def read(self, key: str) -> bytes:
        return self.client().get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def env(self) -> dict[str, str]:
        """The product's variables (interface.md) for this store."""
        return {
            "MEDIA_STORAGE": "s3", "S3_BUCKET": self.bucket,
            "S3_ENDPOINT_URL": self.endpoint_url, "S3_REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }

    def storages_setting(self, current: dict) -> dict:
        """settings.STORAGES as clinic.settings builds it from ``env()``."""
        return {**current, "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": self.bucket, "region_name": self.region,
                "endpoint_url": self.endpoint_url, "default_acl": None,
                "querystring_auth": True, "querystring_expire": 60, "file_overwrite": False,
                "max_memory_size": 0, "signature_version": "s3v4",
                "addressing_style": "path", "access_key": self.access_key,
                "secret_key": self.secret_key,
            },
        }}


def object_store_start(group: ProcessGroup, *, bucket: str = "aftercare-photos") -> ObjectStore:
    moto = program("moto_server", hint="pip install 'moto[server]', in the dev extras")
    port = free_port()
    # moto answers for any credentials; keep it from looking for real ones.
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
    process = group.start("moto_server", [moto, "-H", "127.0.0.1", "-p", str(port)], env=env)
    wait_listening(process, port)
    store = ObjectStore(f"http://127.0.0.1:{port}", bucket, process)
    store.client().create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": store.region})
    return store


# Redis with Sentinel ----------------------------------------------------------------


@dataclass
class SentinelSet:
    """A primary, a replica and one Sentinel watching them, all on loopback."""

    master_name: str
    primary_port: int
    replica_port: int
    sentinel_port: int
    primary: ManagedProcess
    replica: ManagedProcess
    sentinel: ManagedProcess

    @property
    def broker_url(self) -> str:
        return f"sentinel://127.0.0.1:{self.sentinel_port}/0"

    def sentinel_client(self):
        from redis.sentinel import Sentinel

        return Sentinel([("127.0.0.1", self.sentinel_port)], socket_timeout=1)

    def master_port(self) -> int | None:
        """The port the Sentinel gives for the primary; None while it has none (mid-failover)."""
        from redis.exceptions import RedisError

        try:
            _host, port = self.sentinel_client().discover_master(self.master_name)
        except RedisError:
            return None
        return int(port)

    def fail_over(self, *, timeout: float = 60) -> None:
        """Kill the primary (no goodbye) and wait for the Sentinel to promote the replica."""
        self.primary.kill()
        wait_until(lambda: self.master_port() == self.replica_port, timeout=timeout,
                   message="the Sentinel to promote the replica")

    def env(self) -> dict[str, str]:
        return {"CELERY_BROKER_URL": self.broker_url,
                "CELERY_BROKER_SENTINEL_MASTER": self.master_name}


def _redis_node(group: ProcessGroup, redis_server: str, name: str, port: int, folder: Path,
                *extra: str) -> ManagedProcess:
    folder.mkdir(parents=True, exist_ok=True)
    argv = [redis_server, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
            "--appendonly", "no", "--dir", str(folder), *extra]
    process = group.start(name, argv, env=dict(os.environ))
    wait_listening(process, port)
    return process


def sentinel_set_start(group: ProcessGroup, folder: Path, *,
                       master_name: str = "aftercare") -> SentinelSet:
    redis_server = program("redis-server", hint="apt-get install redis-server")
    primary_port, replica_port, sentinel_port = free_port(), free_port(), free_port()
    primary = _redis_node(group, redis_server, "redis-primary", primary_port,
                          folder / "primary")
    replica = _redis_node(group, redis_server, "redis-replica", replica_port,
                          folder / "replica", "--replicaof", "127.0.0.1", str(primary_port))
    config = folder / "sentinel.conf"
    # A failover within seconds, not the production default of half a minute.
    config.write_text(
        f"bind 127.0.0.1\nport {sentinel_port}\ndir {folder}\n"
        f"sentinel monitor {master_name} 127.0.0.1 {primary_port} 1\n"
        f"sentinel down-after-milliseconds {master_name} 1000\n"
        f"sentinel failover-timeout {master_name} 5000\n"
        f"sentinel parallel-syncs {master_name} 1\n"
    )
    sentinel = group.start("redis-sentinel", [redis_server, str(config), "--sentinel"],
                           env=dict(os.environ))
    wait_listening(sentinel, sentinel_port)
    found = SentinelSet(master_name, primary_port, replica_port, sentinel_port, primary,
                        replica, sentinel)

    def replica_in_sync() -> bool:
        import redis

        info = redis.Redis(port=replica_port, socket_timeout=1).info("replication")
        if info.get("master_link_status") != "up":
            return False
        # Sentinel must know the replica too, or it has nothing to promote.
        return bool(found.sentinel_client().discover_slaves(master_name))

    wait_until(replica_in_sync, timeout=30, message="the replica to sync and be seen")
    return found


# PostgreSQL of its own ----------------------------------------------------------------


class ThrowawayPostgres:
    """A PostgreSQL cluster in a temporary folder on a spare port, for a test to stop.

    Made with ``initdb`` (as the ``postgres`` user when the tests run as root,
    which PostgreSQL refuses to run as), never touching the shared server.
    ``load`` copies a database of the shared server into it (``pg_dump`` piped
    into ``psql``): the test builds its rows with the factories as usual.
    """

    def __init__(self, folder: Path, port: int):
        self.folder, self.port = folder, port
        self.data, self.log = folder / "data", folder / "postgres.log"

    def _run(self, *argv: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run([*prefix, *argv], check=check, capture_output=True, text=True,
                              timeout=120, **kwargs)

    def init(self) -> ThrowawayPostgres:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(program("initdb", hint="PostgreSQL's server programs"), "-D", str(self.data),
                  "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        return self

    def start(self) -> None:
        self._run(program("pg_ctl", hint="PostgreSQL's server programs"), "-D", str(self.data),
                  "-l", str(self.log), "-w", "-t", "60", "-o",
                  f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                  "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                  "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast``: every connection is cut and the server stops, as in a failover."""
        self._run(program("pg_ctl", hint="PostgreSQL's server programs"), "-D", str(self.data),
                  "-m", mode, "-w", "-t", "60", "stop", check=False)

    def url(self, name: str = "aftercare") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def connect(self, name: str = "aftercare"):
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=name,
                               autocommit=True)

    def load(self, source: dict, name: str = "aftercare") -> str:
        """A copy of the shared server's database ``source`` (a Django DATABASES entry)."""
        with self.connect("postgres") as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
        env = {**os.environ, "PGPASSWORD": source.get("PASSWORD") or ""}
        dump = subprocess.run(
            [program("pg_dump", hint="PostgreSQL's client programs"), "--no-owner",
             "--no-privileges", "-h", source.get("HOST") or "127.0.0.1",
             "-p", str(source.get("PORT") or 5432), "-U", source.get("USER") or "postgres",
             source["NAME"]], check=True, capture_output=True, env=env, timeout=120)
        subprocess.run([program("psql", hint="PostgreSQL's client programs"), "-q",
                        "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                        "-U", "postgres", "-d", name], input=dump.stdout, check=True,
                       capture_output=True, timeout=120)
        return self.url(name)

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


def throwaway_postgres() -> ThrowawayPostgres:
    import tempfile

    # Under /tmp itself: the postgres user must reach it (pytest's tmp_path is root's own).
    server = ThrowawayPostgres(Path(tempfile.mkdtemp(prefix="aftercare-pg-")), free_port())
    server.init().start()
    return server
