"""Start and stop JupyterLab for the browser test, isolated from the user's own setup."""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def jupyterlab(root: Path, home: Path, env: dict[str, str], disabled_extensions=(),
               log_path: Path | None = None, start_timeout: float = 90):
    """Run JupyterLab on 127.0.0.1 with a random token, serving ``root``; yield its base URL
    with the token as ``(url, token)``.

    Its configuration, data and settings folders live under ``home``, so nothing of the
    user's own JupyterLab setup leaks in; ``disabled_extensions`` are switched off there
    (what ``jupyter labextension disable`` writes).
    """
    token = secrets.token_hex(16)
    port = _free_port()
    config, data, runtime = home / "config", home / "data", home / "runtime"
    (config / "labconfig").mkdir(parents=True, exist_ok=True)
    disabled = {name: True for name in disabled_extensions}
    # No announcements pop-up asking to fetch news from the internet.
    disabled["@jupyterlab/apputils-extension:announcements"] = True
    (config / "labconfig" / "page_config.json").write_text(json.dumps({"disabledExtensions": disabled}))
    env = {**env, "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_DATA_DIR": str(data),
           "JUPYTER_RUNTIME_DIR": str(runtime), "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"), "JUPYTER_PLATFORM_DIRS": "1"}
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
           "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = open(log_path or home / "jupyterlab.log", "w")
    server = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {server.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"JupyterLab did not answer within {start_timeout} s; "
                                       f"see {log.name}") from None
                time.sleep(0.5)
        yield url, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)
        log.close()
