"""Fixtures for driving examples/mcp_server from the Python MCP SDK (a client nobody here wrote).

The binary comes from IDEM_MCP_SERVER (`cargo build --example mcp_server --features mcp-example`);
without it every test fails, naming the variable: CI must not pass by skipping.
"""

import os
import pathlib

import pytest


@pytest.fixture(scope="session")
def server_binary() -> str:
    path = os.environ.get("IDEM_MCP_SERVER")
    if not path or not pathlib.Path(path).is_file():
        pytest.fail(
            "IDEM_MCP_SERVER must name the built example: cargo build --example mcp_server "
            "--features mcp-example, then IDEM_MCP_SERVER=<target>/debug/examples/mcp_server"
        )
    return path
