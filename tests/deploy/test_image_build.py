"""How tests/support/image.py reads a Dockerfile and a .dockerignore: as Docker does.

The examples are Docker's own documentation's (the .dockerignore file, the
Dockerfile reference): patterns match from the context's root, ``**`` crosses
folders, a folder's pattern covers what is in it, and ``!`` brings back.
"""

from __future__ import annotations

import pytest

from tests.support.image import (
    ImageBuildError,
    build_context,
    dockerfile_instructions,
    dockerignore_patterns,
    env_assignments,
    ignored,
    image_build,
)


def left_out(path: str, *lines: str) -> bool:
    return ignored(path, dockerignore_patterns("\n".join(lines)))


def test_a_pattern_matches_from_the_contexts_root_only():
    assert left_out("module.pyc", "*.pyc")
    assert not left_out("clinic/module.pyc", "*.pyc")
    assert left_out("clinic/temporary.txt", "*/temp*")
    assert not left_out("clinic/deeper/temporary.txt", "*/temp*")
    assert left_out("clinic/deeper/temporary.txt", "*/*/temp*")


def test_two_stars_cross_any_number_of_folders():
    for path in ("a.pyc", "clinic/a.pyc", "clinic/x/y/a.pyc"):
        assert left_out(path, "**/*.pyc"), path
    assert left_out("clinic/__pycache__/settings.cpython-311.pyc", "**/__pycache__")
    assert not left_out("clinic/settings.py", "**/*.pyc")


def test_a_folders_pattern_leaves_out_everything_in_it():
    assert left_out("var/broker/out/message.json", "var")
    assert not left_out("variables.py", "var")
    assert left_out("tests/artifacts/screenshot.png", "tests/artifacts")
    assert not left_out("tests/test_x.py", "tests/artifacts")


def test_an_exception_brings_back_what_an_earlier_pattern_left_out():
    lines = ("*.md", "!README*.md", "README-secret.md")
    assert not left_out("README.md", *lines)
    assert left_out("README-secret.md", *lines)
    assert left_out("CHANGES.md", *lines)


def test_comments_blank_lines_and_a_leading_slash_are_read_as_docker_reads_them():
    lines = ("# comment", "", "   ", "/var", "  .env  ", "./node_modules")
    assert left_out("var/x", *lines)
    assert left_out(".env", *lines)
    assert left_out("node_modules/axe-core/index.js", *lines)
    assert not left_out("manage.py", *lines)


def test_a_question_mark_is_one_character_but_never_a_slash():
    assert left_out("a1.txt", "a?.txt")
    assert not left_out("a/.txt", "a?.txt")


def test_the_build_context_skips_left_out_folders_and_files(tmp_path):
    (tmp_path / ".dockerignore").write_text("var\n**/__pycache__\n.env\n")
    for path in ("app/__init__.py", "app/__pycache__/x.pyc", "var/db.sqlite3", ".env",
                 "manage.py"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x")

    assert sorted(build_context(tmp_path)) == [".dockerignore", "app", "app/__init__.py",
                                               "manage.py"]


def test_instructions_join_their_continuation_lines_and_drop_comments():
    text = ("# syntax note\nFROM python:3.11-slim\n\nRUN pip install . \\\n"
            "    # a comment inside\n    && python x.py\nenv A=1\n")

    assert [(i.keyword, i.value, i.line) for i in dockerfile_instructions(text)] == [
        ("FROM", "python:3.11-slim", 2), ("RUN", "pip install . && python x.py", 4),
        ("ENV", "A=1", 7)]


def test_env_takes_both_of_its_forms():
    assert env_assignments('A=1 B="two words" C=/app') == {"A": "1", "B": "two words",
                                                          "C": "/app"}
    assert env_assignments("NAME some value") == {"NAME": "some value"}


def _context(folder, dockerfile: str, dockerignore: str = "") -> None:
    folder.mkdir()
    (folder / "Dockerfile").write_text(dockerfile)
    (folder / ".dockerignore").write_text(dockerignore)
    (folder / "manage.py").write_text("")
    (folder / ".env").write_text("SECRET=1")


def test_copying_a_file_the_context_leaves_out_fails_the_build_as_docker_does(tmp_path):
    _context(tmp_path / "context", "WORKDIR /app\nCOPY .env ./\n", ".env\n")

    with pytest.raises(ImageBuildError, match=r"line 2: COPY \.env: not in the build context"):
        image_build(context=tmp_path / "context", root=tmp_path / "root",
                    venv=tmp_path / "venv")


def test_a_step_this_build_cannot_make_fails_naming_it(tmp_path):
    _context(tmp_path / "context", "WORKDIR /app\nRUN apt-get install -y curl\n")

    with pytest.raises(ImageBuildError, match=r"line 2: RUN apt-get is not made here"):
        image_build(context=tmp_path / "context", root=tmp_path / "root",
                    venv=tmp_path / "venv")
