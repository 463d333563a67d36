"""Starts the built legate-manager and legate-delegate processes the browser suite drives.

Everything runs on loopback with OS-chosen ports in a temporary data directory; every wait is bounded.
"""

import os
import re
import signal
import subprocess
import time


class Deadline:
    """A bounded wait: `poll(check)` calls `check` until it returns a true value or the time is up."""

    def __init__(self, seconds, what):
        self.end = time.monotonic() + seconds
        self.what = what

    def poll(self, check, interval=0.1):
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > self.end:
                raise AssertionError(f"timed out waiting for {self.what}")
            # A bounded poll of external state (a process's output), not a sleep standing in for synchronisation.
            time.sleep(interval)


class Manager:
    """A legate-manager with its HTTP endpoint (HTTPS, dev certificate) on OS-chosen ports."""

    def __init__(self, bin_dir, work_dir):
        self.bin_dir = bin_dir
        self.data_dir = os.path.join(work_dir, "manager")
        self.output_path = os.path.join(work_dir, "manager.out")
        self.error_path = os.path.join(work_dir, "manager.err")
        self.output = open(self.output_path, "w")
        self.errors = open(self.error_path, "w")
        self.process = subprocess.Popen(
            [os.path.join(bin_dir, "legate-manager"), "--data-dir", self.data_dir, "--port", "0",
             "--http-port", "0", "--heartbeat-interval", "2"],
            stdout=self.output, stderr=self.errors, stdin=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin"})
        text = Deadline(20, "the manager's start report").poll(self._report)
        self.address = re.search(r"listening on (\S+)", text).group(1)
        self.console = re.search(r"web console: (https://\S+)/console", text).group(1)
        self.account_id = re.search(r"account id: (\S+)", text).group(1)
        self.default_token = re.search(r"store it now\): (lgt_\S+)", text).group(1)
        self.admin_key = re.search(r"all permissions\): (lak_\S+)", text).group(1)
        self.ca_file = re.search(r"CA file \(dev certificate\): (\S+)", text).group(1)

    def _report(self):
        if self.process.poll() is not None:
            raise AssertionError("legate-manager exited at start: " + open(self.error_path).read())
        text = open(self.output_path).read()
        return text if "start a delegate:" in text else None

    def legatectl(self, *arguments):
        """Runs legatectl against this manager with the bootstrap key; returns its standard output."""
        environment = {"PATH": "/usr/bin:/bin", "LEGATE_MANAGER": self.address, "LEGATE_CA_FILE": self.ca_file,
                       "LEGATE_ADMIN_KEY": self.admin_key}
        result = subprocess.run([os.path.join(self.bin_dir, "legatectl"), *arguments], env=environment,
                                capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise AssertionError(f"legatectl {' '.join(arguments)} exited {result.returncode}: {result.stderr}")
        return result.stdout

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.output.close()
        self.errors.close()


class Delegate:
    """A legate-delegate process registered with `token` under `name` (and `profile`)."""

    def __init__(self, manager, work_dir, name, token, profile="default", tags="console"):
        self.name = name
        safe = re.sub(r"[^A-Za-z0-9]+", "_", name)
        self.log_path = os.path.join(work_dir, f"delegate-{safe}.log")
        self.log = open(self.log_path, "w")
        environment = {"PATH": "/usr/bin:/bin", "LEGATE_MANAGER": manager.address,
                       "LEGATE_ACCOUNT_ID": manager.account_id, "LEGATE_DELEGATE_TOKEN": token,
                       "LEGATE_CA_FILE": manager.ca_file,
                       # Its own state directory (identity and device key) inside the test's directory, never $HOME.
                       "LEGATE_DELEGATE_STATE_DIR": os.path.join(work_dir, f"state-{safe}")}
        self.process = subprocess.Popen(
            [os.path.join(manager.bin_dir, "legate-delegate"), "--name", name, "--profile", profile, "--tags", tags,
             "--drain-timeout", "1"],
            stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL, env=environment)

    def wait_exit(self, seconds):
        """The exit status once the process ends within `seconds`."""
        try:
            return self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"delegate {self.name} still runs after {seconds} s: " + open(self.log_path).read())

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.log.close()
