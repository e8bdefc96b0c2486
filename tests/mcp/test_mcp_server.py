"""End to end: examples/mcp_server driven by the `mcp` Python SDK, over stdio and Streamable HTTP.

Each tool appends a line to an effects file per run, so the tests count executions; a replay is
a result whose `_meta` says `dev.idem/replayed`.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import signal
import subprocess
import time
from contextlib import asynccontextmanager

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

REPLAYED = "dev.idem/replayed"
ARGUMENTS_DIFFER = "dev.idem/argumentsDiffer"
ERROR = "dev.idem/error"
KEY = "dev.idem/key"

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def payment(transaction_id: str, amount: float = 10.5) -> dict:
    return {
        "transaction_id": transaction_id,
        "order_id": "ord-77",
        "amount": amount,
        "payment_method": "card",
    }


def effects(directory: pathlib.Path, name: str = "mcp_server.effects") -> list[str]:
    path = directory / name
    return path.read_text().splitlines() if path.exists() else []


def meta(result) -> dict:
    return result.meta or {}


def content(result) -> str:
    """The result without its `_meta`, as the JSON the client read: equal byte for byte on a replay."""
    return json.dumps(
        result.model_dump(by_alias=True, exclude_none=True, exclude={"meta"}), sort_keys=True
    )


def stdio(binary: str, cwd: pathlib.Path, *flags: str, pidfile: pathlib.Path | None = None):
    """The server over stdio in `cwd` (its default store and effects files live there). With
    `pidfile`, a shell writes the server's pid there and keeps its stderr in `stderr.log`, then
    becomes the server (exec keeps the pid), so that a test can kill exactly that process."""
    if pidfile is None:
        return StdioServerParameters(command=binary, args=list(flags), cwd=str(cwd))
    script = 'echo $$ > "$0"; exec "$@" 2>>stderr.log'
    return StdioServerParameters(
        command="sh", args=["-c", script, str(pidfile), binary, *flags], cwd=str(cwd)
    )


async def wait_for(predicate, what: str, timeout: float = 30.0) -> None:
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.05)


# --- stdio -------------------------------------------------------------------------------------


async def test_stdio_same_call_twice_runs_once_and_the_replay_is_marked(server_binary, tmp_path):
    # No flags: stdio on ./mcp_server.sqlite3, effects in ./mcp_server.effects.
    async with Client(stdio(server_binary, tmp_path)) as client:
        first = await client.call_tool("process_payment", payment("txn-1"))
        again = await client.call_tool("process_payment", payment("txn-1"))

    assert len(effects(tmp_path)) == 1
    assert re.fullmatch(r"payment txn-1 10\.5 pid=\d+", effects(tmp_path)[0])
    assert not first.is_error and REPLAYED not in meta(first)
    assert meta(again)[REPLAYED] is True
    assert content(again) == content(first)
    assert (tmp_path / "mcp_server.sqlite3").exists()


async def test_stdio_a_new_process_replays_what_an_earlier_one_did(server_binary, tmp_path):
    async with Client(stdio(server_binary, tmp_path)) as client:
        first = await client.call_tool("fulfill_order", {"order_id": "o-1", "warehouse_id": "w-9"})
    async with Client(stdio(server_binary, tmp_path)) as client:
        again = await client.call_tool("fulfill_order", {"order_id": "o-1", "warehouse_id": "w-9"})

    assert len(effects(tmp_path)) == 1
    assert meta(again)[REPLAYED] is True
    assert content(again) == content(first)


async def test_stdio_other_arguments_under_the_same_key_are_refused(server_binary, tmp_path):
    async with Client(stdio(server_binary, tmp_path)) as client:
        await client.call_tool("process_payment", payment("txn-2", 10.0))
        other = await client.call_tool("process_payment", payment("txn-2", 99.0))

    assert len(effects(tmp_path)) == 1
    assert other.is_error
    assert meta(other)[ERROR] == "argumentsMismatch"
    assert meta(other)[ARGUMENTS_DIFFER] is True
    assert "other arguments" in other.content[0].text


async def test_stdio_other_arguments_are_replayed_and_flagged_under_replay(server_binary, tmp_path):
    async with Client(stdio(server_binary, tmp_path, "--on-mismatch", "replay")) as client:
        first = await client.call_tool("process_payment", payment("txn-3", 10.0))
        other = await client.call_tool("process_payment", payment("txn-3", 99.0))

    assert len(effects(tmp_path)) == 1
    assert meta(other)[REPLAYED] is True
    assert meta(other)[ARGUMENTS_DIFFER] is True
    assert content(other) == content(first)


@pytest.mark.parametrize("style", ["router", "handler"])
async def test_stdio_both_styles_list_idempotent_hint_and_replay(server_binary, tmp_path, style):
    async with Client(stdio(server_binary, tmp_path, "--style", style)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        first = await client.call_tool("fulfill_order", {"order_id": "o-2"})
        again = await client.call_tool("fulfill_order", {"order_id": "o-2"})

    assert {"process_payment", "fulfill_order"} <= tools.keys()
    assert all(tools[name].annotations.idempotent_hint for name in ("process_payment", "fulfill_order"))
    assert len(effects(tmp_path)) == 1
    assert meta(again)[REPLAYED] is True and content(again) == content(first)


async def test_stdio_killed_mid_call_a_new_process_runs_it_once_after_the_lease(server_binary, tmp_path):
    # A call that completes before the crash, then one the crash interrupts before its effect.
    pidfile = tmp_path / "server.pid"
    slow = stdio(server_binary, tmp_path, "--lease", "2s", "--delay-ms", "60000", pidfile=pidfile)
    fast = stdio(server_binary, tmp_path, "--lease", "2s")
    async with Client(fast) as client:
        done = await client.call_tool("fulfill_order", {"order_id": "o-done"})

    with pytest.raises(BaseException):
        async with Client(slow) as client:
            async with anyio.create_task_group() as group:
                group.start_soon(client.call_tool, "process_payment", payment("txn-crash"))
                log = tmp_path / "stderr.log"
                await wait_for(lambda: log.exists() and "waiting" in log.read_text(), "the tool to wait")
                os.kill(int(pidfile.read_text()), signal.SIGKILL)
    # Killed before its side effect: only the completed call's effect is there.
    assert [line.split(" pid=")[0] for line in effects(tmp_path)] == ["order o-done"]

    async with Client(fast) as client:
        retried = await client.call_tool("process_payment", payment("txn-crash"))
        replayed = await client.call_tool("fulfill_order", {"order_id": "o-done"})

    payments = [line for line in effects(tmp_path) if line.startswith("payment txn-crash")]
    assert len(payments) == 1, effects(tmp_path)
    assert not retried.is_error and REPLAYED not in meta(retried)
    assert retried.structured_content["transaction_id"] == "txn-crash"
    assert meta(replayed)[REPLAYED] is True and content(replayed) == content(done)
    assert len([line for line in effects(tmp_path) if line.startswith("order o-done")]) == 1


async def test_two_server_processes_on_one_sqlite_file_race_to_one_execution(server_binary, tmp_path):
    results = []

    async def client_of_one_process():
        async with Client(stdio(server_binary, tmp_path, "--delay-ms", "200")) as client:
            async with anyio.create_task_group() as group:
                for _ in range(10):
                    group.start_soon(call_into, client, results)

    async with anyio.create_task_group() as group:
        group.start_soon(client_of_one_process)
        group.start_soon(client_of_one_process)

    assert len(results) == 20
    assert len(effects(tmp_path)) == 1, effects(tmp_path)
    assert len([r for r in results if REPLAYED not in meta(r)]) == 1
    assert len({content(r) for r in results}) == 1


async def call_into(client, results):
    results.append(await client.call_tool("process_payment", payment("txn-race")))


# --- Streamable HTTP ---------------------------------------------------------------------------


@asynccontextmanager
async def http_server(binary: str, cwd: pathlib.Path, *flags: str):
    """The server on Streamable HTTP, on a free port of 127.0.0.1; yields its URL."""
    log = open(cwd / "http.log", "w+")
    process = subprocess.Popen(
        [binary, "--http", "127.0.0.1:0", *flags], cwd=cwd, stdin=subprocess.DEVNULL, stderr=log
    )
    try:
        url = None
        with anyio.fail_after(30):
            while url is None:
                await anyio.sleep(0.05)
                assert process.poll() is None, (cwd / "http.log").read_text()
                found = re.search(r"listening on (http://\S+)", (cwd / "http.log").read_text())
                url = found and found.group(1)
        yield url
    finally:
        process.kill()
        process.wait(timeout=10)
        log.close()


async def test_http_two_sessions_race_twenty_calls_each_to_one_execution(server_binary, tmp_path):
    results = []
    async with http_server(server_binary, tmp_path, "--delay-ms", "200") as url:

        async def session():
            async with Client(url, mode="legacy") as client:
                async with anyio.create_task_group() as group:
                    for _ in range(20):
                        group.start_soon(call_into, client, results)

        async with anyio.create_task_group() as group:
            group.start_soon(session)
            group.start_soon(session)

    assert len(results) == 40
    assert len(effects(tmp_path)) == 1, effects(tmp_path)
    assert len([r for r in results if REPLAYED not in meta(r)]) == 1
    assert len({content(r) for r in results}) == 1


async def test_http_tools_list_shows_idempotent_hint(server_binary, tmp_path):
    async with http_server(server_binary, tmp_path) as url:
        async with Client(url) as client:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}

    assert tools["process_payment"].annotations.idempotent_hint is True
    assert tools["fulfill_order"].annotations.idempotent_hint is True


async def test_http_a_caller_key_in_meta_is_honoured(server_binary, tmp_path):
    async with http_server(server_binary, tmp_path) as url:
        async with Client(url) as client:
            # The same payment under two caller keys: two calls; the first key again: a replay.
            a = await client.call_tool("process_payment", payment("txn-k"), meta={KEY: "attempt-a"})
            b = await client.call_tool("process_payment", payment("txn-k"), meta={KEY: "attempt-b"})
            a_again = await client.call_tool("process_payment", payment("txn-k"), meta={KEY: "attempt-a"})
            # The same caller key with other arguments is refused.
            other = await client.call_tool("process_payment", payment("txn-k", 1.0), meta={KEY: "attempt-a"})

    assert len(effects(tmp_path)) == 2, effects(tmp_path)
    assert REPLAYED not in meta(a) and REPLAYED not in meta(b)
    assert content(a) != content(b)
    assert meta(a_again)[REPLAYED] is True and content(a_again) == content(a)
    assert other.is_error and meta(other)[ERROR] == "argumentsMismatch"
