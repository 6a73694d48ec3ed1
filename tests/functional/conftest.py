"""Functional tests run commands in-process (typer's CliRunner): each command configures the root
logger onto the runner's stderr, which is closed after the call, so every test here puts the
root logger's handlers and level back afterwards."""

import logging

import pytest


@pytest.fixture(autouse=True)
def _restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
