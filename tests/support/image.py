"""The Docker image, made without a Docker engine: its files, its Python, its RUN steps.

Neither a developer's machine nor CI has a Docker engine, so the image is made
here from the two files Docker reads: ``Dockerfile`` gives the steps, and
``.dockerignore`` what the build context leaves out, matched the way Docker's
own matcher (moby's patternmatcher) does. Nothing is listed a second time.

- The image's filesystem is a folder, ``root``: ``/app`` is ``root/app``, and
  every absolute path an ENV value names is read under ``root`` the same way.
- Its Python is a fresh virtual environment of this machine's interpreter,
  which must be the version the FROM line names.
- COPY copies from the build context exactly what Docker would send.
- RUN runs each command its ``&&`` chain holds, every absolute path in it read
  under ``root``: ``pip`` and ``python`` in the image's environment, ``mkdir``
  and ``rm`` as they are. ``useradd`` and ``chown`` make the image's own user,
  which a folder cannot have (the processes run as this test's user; the tests
  check instead that none of them writes to the code). Any other program fails
  the build, naming its line: teach this file first.

``pip install`` runs with the Dockerfile's arguments and two more, for speed:
``--no-index --find-links`` a wheelhouse kept between runs
(``AFTERCARE_IMAGE_WHEELS``, default ``~/.cache/aftercare-desk/image-wheels``,
filled from the package index with ``pip wheel`` when a requirement is
missing and again weekly, so its releases may be up to a week behind the
index's), and ``--no-compile`` (no bytecode: the image's processes do not
write it either, PYTHONDONTWRITEBYTECODE).
"""

from __future__ import annotations

import fcntl
import json
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# The python image's own environment (python:3.11-slim), beneath the Dockerfile's ENV.
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BASE_ENV = {"LANG": "C.UTF-8"}
WHEELHOUSE_MAX_AGE = 7 * 24 * 3600


class ImageBuildError(AssertionError):
    """The Dockerfile asks for something this build cannot make, or a step failed."""


# Dockerfile --------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    value: str
    line: int


def dockerfile_instructions(text: str) -> list[Instruction]:
    """Each instruction with its continuation lines joined; comments dropped."""
    instructions: list[Instruction] = []
    parts: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not parts and not stripped):
            continue
        if not parts:
            start = number
        if stripped.endswith("\\"):
            parts.append(stripped[:-1].strip())
            continue
        parts.append(stripped)
        keyword, _, value = " ".join(part for part in parts if part).partition(" ")
        instructions.append(Instruction(keyword.upper(), value.strip(), start))
        parts = []
    if parts:
        raise ImageBuildError(f"Dockerfile line {start}: the instruction continues past the end")
    return instructions


def env_assignments(value: str) -> dict[str, str]:
    """``ENV a=1 b="two words"``, or the old ``ENV name value``."""
    words = shlex.split(value)
    if words and "=" not in words[0]:
        name, _, rest = value.partition(" ")
        return {name: rest.strip()}
    return dict(word.split("=", 1) for word in words)


# .dockerignore -----------------------------------------------------------------------


@dataclass(frozen=True)
class IgnorePattern:
    text: str
    exception: bool  # "!pattern": brings back what an earlier pattern left out
    regex: re.Pattern[str]

    def matches(self, path: str) -> bool:
        """The path, or one of the folders it is in, matches (moby's MatchesOrParentMatches)."""
        if self.regex.match(path):
            return True
        parents = path.split("/")[:-1]
        return any(self.regex.match("/".join(parents[:count]))
                   for count in range(1, len(parents) + 1))


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """moby/patternmatcher's translation: ``*`` and ``?`` stop at "/", ``**`` crosses it."""
    regex, index = "^", 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            index += 2
            if pattern.startswith("/", index):
                index += 1
            regex += ".*" if index >= len(pattern) else "(.*/)?"
            continue
        if char == "*":
            regex += "[^/]*"
        elif char == "?":
            regex += "[^/]"
        elif char == "[":
            end = pattern.find("]", index + 1)
            if end < 0:
                raise ImageBuildError(f".dockerignore: {pattern!r} has an unclosed '['")
            regex += pattern[index:end + 1]
            index = end
        elif char == "\\" and index + 1 < len(pattern):
            index += 1
            regex += re.escape(pattern[index])
        else:
            regex += re.escape(char)
        index += 1
    return re.compile(regex + "$")


def dockerignore_patterns(text: str) -> list[IgnorePattern]:
    """The file's patterns as Docker reads them: trimmed, cleaned, relative to the context."""
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        body = line[1:].strip() if exception else line
        body = posixpath.normpath(body)
        if len(body) > 1 and body.startswith("/"):
            body = body.lstrip("/")
        patterns.append(IgnorePattern(line, exception, _pattern_regex(body)))
    return patterns


def ignored(path: str, patterns: list[IgnorePattern]) -> bool:
    """Whether Docker leaves ``path`` (relative, with "/") out of the build context."""
    left_out = False
    for pattern in patterns:
        # As moby does: an exclusion can only apply to what is still in, and
        # an exception to what is out.
        if pattern.exception != left_out:
            continue
        if pattern.matches(path):
            left_out = not pattern.exception
    return left_out


def build_context(directory: Path) -> list[str]:
    """Every file and folder ``docker build directory`` sends, as relative paths."""
    text = (directory / ".dockerignore").read_text() if (directory / ".dockerignore").exists() \
        else ""
    patterns = dockerignore_patterns(text)
    has_exceptions = any(pattern.exception for pattern in patterns)
    entries: list[str] = []
    for folder, subfolders, files in os.walk(directory):
        relative = Path(folder).relative_to(directory).as_posix()
        prefix = "" if relative == "." else relative + "/"
        kept = []
        for name in sorted(subfolders):
            path = prefix + name
            if not ignored(path, patterns):
                entries.append(path)
                kept.append(name)
            elif has_exceptions:  # something inside may be brought back
                kept.append(name)
        subfolders[:] = kept
        entries.extend(prefix + name for name in sorted(files)
                       if not ignored(prefix + name, patterns))
    return entries


# The build ---------------------------------------------------------------------------


@dataclass
class Image:
    """The image as a folder (``root``) and a virtual environment (``venv``)."""

    context: Path
    root: Path
    venv: Path
    workdir: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    user: str = "root"
    from_image: str = ""
    copied: list[str] = field(default_factory=list)
    not_made: list[str] = field(default_factory=list)

    def path(self, image_path: str) -> Path:
        """Where an absolute path of the image is here."""
        return self.root / image_path.lstrip("/")

    @property
    def app(self) -> Path:
        return self.path(self.workdir)

    def mapped(self, value: str) -> str:
        """An ENV value: a path, or a list of paths, of the image, read under ``root``."""
        parts = value.split(":")
        if all(part.startswith("/") and not part.startswith("//") for part in parts):
            return ":".join(str(self.path(part)) for part in parts)
        return value

    def environ(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment a container of the image starts with, and ``extra``.

        Nothing of this test process's own environment is passed on, so the
        image's processes find nothing (code, settings) but what the image holds.
        """
        env = {**BASE_ENV, "PATH": f"{self.venv / 'bin'}:{BASE_PATH}",
               # useradd --home /app: the image's user lives in the code's folder.
               "HOME": str(self.app)}
        env.update({name: self.mapped(value) for name, value in self.env.items()})
        env.update(extra or {})
        return env

    def run(self, argv: list[str], *, env: Mapping[str, str] | None = None,
            cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """A one-off command in a container of the image (``docker compose run``)."""
        return subprocess.run(argv, cwd=cwd or self.app, env=dict(env or self.environ()),
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def copy(self, root: Path) -> Image:
        """The same image with its own filesystem (``root``), sharing the environment."""
        shutil.copytree(self.root, root, symlinks=True)
        return Image(context=self.context, root=root, venv=self.venv, workdir=self.workdir,
                     env=dict(self.env), user=self.user, from_image=self.from_image,
                     copied=list(self.copied), not_made=list(self.not_made))

    def files(self) -> dict[str, tuple[int, int]]:
        """Every file of the code's folder, with its size and modification time."""
        found = {}
        for path in sorted(self.app.rglob("*")):
            if path.is_file():
                stat = path.stat()
                found[path.relative_to(self.app).as_posix()] = (stat.st_size, stat.st_mtime_ns)
        return found


def image_build(*, context: Path, root: Path, venv: Path,
                wheelhouse: Path | None = None) -> Image:
    """Make the image ``context/Dockerfile`` describes, under ``root``."""
    image = Image(context=context, root=root, venv=venv)
    root.mkdir(parents=True, exist_ok=True)
    sent = build_context(context)
    for instruction in dockerfile_instructions((context / "Dockerfile").read_text()):
        where = f"Dockerfile line {instruction.line}"
        if instruction.keyword == "FROM":
            _from(image, instruction.value, where=where)
        elif instruction.keyword == "ENV":
            image.env.update(env_assignments(instruction.value))
        elif instruction.keyword == "WORKDIR":
            image.workdir = posixpath.normpath(posixpath.join(image.workdir, instruction.value))
            image.app.mkdir(parents=True, exist_ok=True)
        elif instruction.keyword == "COPY":
            _copy(image, instruction.value, sent=sent, where=where)
        elif instruction.keyword == "RUN":
            _run(image, instruction.value, where=where,
                 wheelhouse=wheelhouse or default_wheelhouse())
        elif instruction.keyword == "USER":
            image.user = instruction.value
        elif instruction.keyword in ("EXPOSE", "LABEL"):
            pass
        else:
            raise ImageBuildError(f"{where}: {instruction.keyword} is not made here; "
                                  "teach tests/support/image.py")
    return image


def _from(image: Image, value: str, *, where: str) -> None:
    image.from_image = value
    match = re.fullmatch(r"python:(\d+)\.(\d+)(?:[.-].*)?", value)
    if not match:
        raise ImageBuildError(f"{where}: FROM {value}: only the official python image is made here")
    wanted = (int(match.group(1)), int(match.group(2)))
    if wanted != sys.version_info[:2]:
        raise ImageBuildError(f"{where}: FROM {value}, but this machine's Python is "
                              f"{sys.version_info[0]}.{sys.version_info[1]}")
    subprocess.run([sys.executable, "-m", "venv", str(image.venv)], check=True,
                   capture_output=True, timeout=300)


def _copy(image: Image, value: str, *, sent: list[str], where: str) -> None:
    words = json.loads(value) if value.startswith("[") else shlex.split(value)
    if any(word.startswith("--") for word in words):
        raise ImageBuildError(f"{where}: COPY's options are not made here: {value}")
    *sources, destination = words
    target = image.path(posixpath.join(image.workdir, destination))
    into_folder = destination.endswith("/") or destination in (".", "./") or len(sources) > 1
    sent_set = set(sent)
    for source in sources:
        if any(char in source for char in "*?["):
            raise ImageBuildError(f"{where}: COPY with wildcards is not made here: {source}")
        relative = posixpath.normpath(source)
        if relative.startswith(".."):
            raise ImageBuildError(f"{where}: {source} is outside the build context")
        origin = image.context / relative
        if relative == "." or (origin.is_dir() and relative in sent_set):
            inside = [path for path in sent
                      if relative == "." or path.startswith(relative + "/")]
            for path in inside:
                name = path if relative == "." else path[len(relative) + 1:]
                _copy_entry(image.context / path, target / name)
                image.copied.append(path)
        elif relative in sent_set:
            _copy_entry(origin, target / origin.name if into_folder else target)
            image.copied.append(relative)
        else:
            # Docker: "failed to compute cache key: … not found" (absent, or ignored).
            raise ImageBuildError(f"{where}: COPY {source}: not in the build context "
                                  "(missing, or left out by .dockerignore)")


def _copy_entry(origin: Path, target: Path) -> None:
    if origin.is_dir() and not origin.is_symlink():
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(origin, target, follow_symlinks=False)


def _commands(value: str, *, where: str) -> Iterator[list[str]]:
    if value.startswith("["):
        yield json.loads(value)
        return
    words = shlex.split(value)
    for operator in (";", "||", "|", ">", ">>", "<", "&"):
        if operator in words:
            raise ImageBuildError(f"{where}: RUN with {operator!r} is not made here: {value}")
    command: list[str] = []
    for word in words + ["&&"]:
        if word == "&&":
            if command:
                yield command
            command = []
        else:
            command.append(word)


def _run(image: Image, value: str, *, where: str, wheelhouse: Path) -> None:
    python = str(image.venv / "bin" / "python")
    # The build runs as root, whose home is /root.
    image.path("/root").mkdir(parents=True, exist_ok=True)
    env = image.environ({"HOME": str(image.path("/root"))})
    for command in _commands(value, where=where):
        # Every absolute path a command names is the image's.
        argv = [command[0], *(str(image.path(word)) if word.startswith("/") else word
                              for word in command[1:])]
        program = argv[0]
        if program in ("pip", "pip3") or argv[:3] in (["python", "-m", "pip"],
                                                      ["python3", "-m", "pip"]):
            pip_args = argv[1:] if program.startswith("pip") else argv[3:]
            _pip(image, pip_args, env=env, where=where, wheelhouse=wheelhouse)
        elif program in ("python", "python3"):
            _checked(image, [python, *argv[1:]], env=env, where=where)
        elif program in ("mkdir", "rm"):
            _checked(image, [program, *argv[1:]], env=env, where=where)
        elif program in ("useradd", "chown"):
            image.not_made.append(shlex.join(argv))
        else:
            raise ImageBuildError(f"{where}: RUN {program} is not made here; "
                                  "teach tests/support/image.py")


def _checked(image: Image, argv: list[str], *, env: Mapping[str, str], where: str,
             timeout: float = 900) -> subprocess.CompletedProcess[str]:
    result = image.run(argv, env=env, timeout=timeout)
    if result.returncode != 0:
        raise ImageBuildError(f"{where}: {shlex.join(argv)} exited {result.returncode}:\n"
                              f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def default_wheelhouse() -> Path:
    configured = os.environ.get("AFTERCARE_IMAGE_WHEELS")
    if configured:
        return Path(configured)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "aftercare-desk" / "image-wheels"


def _pip(image: Image, args: list[str], *, env: Mapping[str, str], where: str,
         wheelhouse: Path) -> None:
    pip = [str(image.venv / "bin" / "python"), "-m", "pip"]
    # pip reads this machine's package index settings (PIP_*), not the image's.
    env = {**env, **{name: value for name, value in os.environ.items()
                     if name.startswith("PIP_")}}
    if not args or args[0] != "install":
        _checked(image, [*pip, *args], env=env, where=where)
        return
    offline = [*pip, *args, "--no-compile", "--no-index", "--find-links", str(wheelhouse)]
    wheelhouse.mkdir(parents=True, exist_ok=True)
    stamp = wheelhouse / ".filled"
    with open(wheelhouse / ".lock", "w") as lock:
        # Two runs of the suite at once share the wheelhouse, one at a time.
        fcntl.flock(lock, fcntl.LOCK_EX)
        fresh = stamp.exists() and time.time() - stamp.stat().st_mtime < WHEELHOUSE_MAX_AGE
        if fresh and image.run(offline, env=env, timeout=900).returncode == 0:
            return
        requirements = [arg for arg in args[1:] if not arg.startswith("-")]
        _checked(image, [*pip, "wheel", "--quiet", "--wheel-dir", str(wheelhouse),
                         *requirements, *_build_requirements(image, requirements)],
                 env=env, where=where)
        for built in wheelhouse.glob("aftercare_desk-*.whl"):
            built.unlink()  # the project itself is built from the image's copy
        stamp.touch()
        _checked(image, offline, env=env, where=where)


def _build_requirements(image: Image, requirements: list[str]) -> list[str]:
    """What building a local project needs (pyproject's build-system), for the wheelhouse."""
    needed: list[str] = []
    for requirement in requirements:
        pyproject = image.app / requirement / "pyproject.toml"  # absolute: already the image's
        if pyproject.exists():
            needed += tomllib.loads(pyproject.read_text()).get("build-system", {}).get(
                "requires", [])
    return needed
