"""`make run` on a first start: it migrates, loads the demo, starts the web app and the scheduler
on the PORT asked for, and Ctrl-C stops both cleanly and says so (it used to end with
"make: *** [Makefile] Segmentation fault": a `trap 'kill 0'` that signalled its own shell).

Ctrl-C is what the terminal sends: SIGINT to the whole foreground process group, make included.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("make") is None or not (ROOT / ".venv" / "bin" / "monitor").exists(),
                                reason="needs make and the project's virtualenv (make install)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2)
    except urllib.error.HTTPError:
        return True  # an answer all the same
    except OSError:
        return False
    return True


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_make_run_starts_on_its_port_and_ctrl_c_stops_it_cleanly(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MONITOR_", "FLASK_", "DATABASE_", "PUBLIC_BASE", "SMS_", "MAKE", "MFLAGS"))}
    env |= {"MONITOR_INSTANCE_PATH": str(tmp_path / "instance"), "PORT": str(port)}
    # One returnee already: `make run` then skips the demo (half a minute of the first start) and
    # says so; everything else is the first start's.
    csv = tmp_path / "one.csv"
    csv.write_text("code,destination_country,partner,return_date,language,channel,phone,consent\n"
                   "MR-1,GE,caritas,2026-01-05,ka,sms,+995555123456,yes\n")
    monitor = str(ROOT / ".venv" / "bin" / "monitor")
    for command in ([monitor, "db", "upgrade"], [monitor, "import-returnees", str(csv)]):
        subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    process = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 240
        while not _answers(url):
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "make run did not start the web app"
            time.sleep(0.5)
        time.sleep(1)  # the scheduler has started beside it
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in the terminal
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.KILL)
            process.wait()
    assert f"on http://127.0.0.1:{port}/" in output
    assert "no demo loaded" in output
    assert "Segmentation fault" not in output and "make: ***" not in output, output[-2000:]
    assert "Stopped: the web app and the scheduler have ended." in output
    # make ends as Ctrl-C ends a program: by the signal, with nothing left behind it.
    assert process.returncode in (0, -signal.SIGINT), output[-2000:]
    deadline = time.monotonic() + 10
    while _group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _group_alive(process.pid), "a process of make run outlived Ctrl-C"
    assert not _answers(url)
