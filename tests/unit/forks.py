"""Scripts run in a fresh interpreter that counts the processes `issuer.forking` forks.

Forking needs a process without other threads (`issuer.forking` falls back to one process otherwise), and a
pytest session that ran the API-server tiers has some: the tests of the parallel paths run this way.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from typing import Any

_PRELUDE = """
import os
from issuer import forking
forks = []  # the pids forked so far
_real_fork = os.fork
def _counting_fork():
    pid = _real_fork()
    if pid:
        forks.append(pid)
    return pid
forking.os.fork = _counting_fork
"""


def run_counting_forks(script: str, *args: str, stdin: str) -> Any:
    """Run `script` (which sees `forks`, a list of the pids forked so far, and prints one JSON value) with
    `args` and `stdin`; the test fails unless it exits 0. Returns the JSON it printed."""
    proc = subprocess.run([sys.executable, "-c", _PRELUDE + script, *args], input=stdin, capture_output=True,
                          text=True, check=False, cwd=pathlib.Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)
