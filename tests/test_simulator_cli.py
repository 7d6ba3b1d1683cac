"""`python -m xurrent_async.simulator`: options, and a real server a plain HTTP client can page through."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from xurrent_async.simulator.__main__ import build_parser, config_from

ROOT = Path(__file__).resolve().parent.parent


def test_options_map_onto_the_config() -> None:
    args = build_parser().parse_args(
        ["--records", "5", "--burst-limit", "0", "--hourly-limit", "10", "--hour-seconds", "6", "--latency-ms",
         "20", "--record-cap", "300", "--fault", "html_5xx=0.1", "--fault", "omit_retry_after=1", "--fault",
         "stall_seconds=2.5", "--changes-per-second", "0.001", "--token-ttl", "60", "--throttled-header", "last",
         "--token", "a", "--token", "b", "--token", "c", "--user", "alice=a,b", "--burst-scope", "token"]
    )
    config = config_from(args)
    assert (config.tokens, config.users, config.burst_scope) == (("a", "b", "c"), {"alice": ("a", "b")}, "token")
    assert (config.user_of("b"), config.user_of("c")) == ("alice", "c")
    assert (config.records, config.burst_limit, config.hourly_limit, config.hour_seconds) == (5, None, 10, 6.0)
    assert (config.latency, config.record_cap, config.token_ttl_seconds) == (0.02, 300, 60.0)
    assert (config.changes_per_second, config.throttled_header) == (0.001, "last")
    assert (config.faults.html_5xx, config.faults.omit_retry_after, config.faults.stall_seconds) == (0.1, True, 2.5)


def test_the_switches_where_the_docs_are_silent_map_onto_the_config() -> None:
    defaults = config_from(build_parser().parse_args([]))
    assert (defaults.template_display, defaults.loose_values, defaults.refused_fields) == ("subject", 0.0, {})
    assert (defaults.fields_error_message, defaults.feeds_missing, defaults.feed_references) == (None, False, "always")
    config = config_from(build_parser().parse_args(
        ["--template-display", "name", "--loose-values", "0.1", "--refuse-field", "products.rate", "--refuse-field",
         "products.brand", "--refuse-field", "projects.roi", "--fields-error-message", "Bad Request", "--no-feeds",
         "--feed-references", "single"]))
    assert (config.template_display, config.loose_values) == ("name", 0.1)
    assert config.refused_fields == {"products": ("rate", "brand"), "projects": ("roi",)}
    assert config.fields_error_message == "Bad Request"
    assert (config.feeds_missing, config.feed_references) == (True, "single")


def test_the_help_names_every_switch_where_the_docs_are_silent() -> None:
    text = build_parser().format_help()
    for flag in ("--template-display", "--loose-values", "--refuse-field", "--fields-error-message", "--no-feeds",
                 "--feed-references"):
        assert flag in text, flag


@pytest.mark.parametrize("option", [["--refuse-field", "rate"], ["--refuse-field", "widgets.rate"],
                                    ["--loose-values", "2"], ["--template-display", "title"]])
def test_bad_switch_values_are_refused(option: list[str], capsys) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(option)
    assert option[0] in capsys.readouterr().err


@pytest.mark.parametrize("fault", ["bogus=1", "reset=2", "reset", "html_5xx=x"])
def test_bad_fault_options_are_refused(fault: str, capsys) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--fault", fault])
    assert "--fault" in capsys.readouterr().err


@pytest.mark.parametrize("user", ["alice", "alice=", "=a,b", "alice=,"])
def test_bad_user_options_are_refused(user: str, capsys) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--user", user])
    assert "--user" in capsys.readouterr().err


def test_without_token_options_the_default_token_serves() -> None:
    assert config_from(build_parser().parse_args([])).tokens == ("sim-token",)


def test_the_command_serves_until_interrupted() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "xurrent_async.simulator", "--port", "0", "--records", "150"]
    # A shell's background job inherits SIGINT ignored, and Python then leaves Ctrl-C off: the child
    # gets the default back, as it has when run from a terminal.
    with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)) as proc:
        try:
            lines: queue.Queue[str] = queue.Queue()
            threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
            printed = [lines.get(timeout=30) for _ in range(5)]
            base = next(line.split()[-1] for line in printed if "base URL" in line)
            assert any(line.split()[-1] == "sim-token" for line in printed if "personal token" in line)
            headers = {"Authorization": "Bearer sim-token", "X-Xurrent-Account": "sim-account"}
            url: str | None = f"{base}/organizations?per_page=100"
            seen = []
            while url:
                with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
                    seen += json.loads(r.read())
                    link = r.headers.get("Link")
                url = link[1 : link.index(">")] if link else None
            assert len({rec["id"] for rec in seen}) == len(seen) == 150
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                code = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()  # never leave the test (and Popen's exit) waiting on it
                raise
            assert code == 0
