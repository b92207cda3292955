"""One simulated Windows host: its persisted state and the operations on it.

The state is a plain JSON-serialisable dict (see ``new_state`` in ``fleet.py`` for its
shape). It is written to ``<state_dir>/<name>.json`` atomically, with sorted keys, and
only when its serialised form changed, so a read-only run leaves the file byte-identical.

Request counters are kept apart (``<name>.counters.json``) for the same reason.
"""

from __future__ import annotations

import base64
import hashlib
import json
import ntpath
import os
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from . import rules
from .clock import HostClock

# FILETIME: 100 ns intervals since 1601-01-01.
_EPOCH_AS_FILETIME = 116444736000000000

ATP_POLICY_KEY = r"HKLM\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection"
ATP_STATUS_KEY = r"HKLM\SOFTWARE\Microsoft\Windows Advanced Threat Protection\Status"
DEFENDER_POLICY_KEY = r"HKLM\SOFTWARE\Policies\Microsoft\Windows Defender"
RTP_POLICY_KEY = r"HKLM\SOFTWARE\Policies\Microsoft\Windows Defender\Real-Time Protection"
UNINSTALL_KEY = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall"
CBS_REBOOT_PENDING_KEY = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending"
WU_REBOOT_REQUIRED_KEY = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired"
SESSION_MANAGER_KEY = r"HKLM\SYSTEM\CurrentControlSet\Control\Session Manager"


def unix_to_filetime(ts: float) -> int:
    return int(ts * 10_000_000) + _EPOCH_AS_FILETIME


def filetime_to_unix(ft: int) -> float:
    return (ft - _EPOCH_AS_FILETIME) / 10_000_000


def norm_path(path: str) -> str:
    """Windows paths are case-insensitive; Ansible removes ``<tmp>\\.``."""
    expanded = path.replace("/", "\\")
    normed = ntpath.normpath(expanded)
    return normed.rstrip("\\").lower() if len(normed) > 3 else normed.lower()


def norm_key(key: str) -> str:
    key = key.replace("/", "\\").strip("\\")
    for long in ("HKEY_LOCAL_MACHINE", "HKLM:"):
        if key.upper().startswith(long):
            key = "HKLM" + key[len(long) :]
    return key.lower()


class ModuleFail(Exception):
    """Raised by twins to answer like ``$module.FailJson()``."""

    def __init__(self, msg: str, **extra: Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.extra = extra


@dataclass
class TwinContext:
    check_mode: bool = False
    diff: bool = False
    delay: float = 0.0
    warnings: list[str] = field(default_factory=list)


class SimHost:
    """A simulated Windows host.

    Thread-safety: every public operation takes ``self.lock``; the server may call from
    worker threads.
    """

    def __init__(self, name: str, state: dict, state_dir: str | None, clock: HostClock | None = None) -> None:
        self.name = name
        #: Simulated time (``clock.py``): the fleet's clock plus the virtual time of the running command.
        self.clock = clock or HostClock()
        #: while a timer runs: its own time (``tick``)
        self._timer_time: float | None = None
        self.state = state
        self.state_dir = state_dir
        self.lock = threading.RLock()
        self._last_saved: str | None = None
        # Set by the raw "shutdown.exe /r" command; read and cleared by the server.
        self.reboot_requested: float | None = None
        self.counters: dict[str, Any] = {}
        if state_dir:
            path = self.state_path
            if os.path.exists(path):
                with open(path, encoding="utf-8") as fh:
                    self._last_saved = fh.read()

    # ------------------------------------------------------------------ persistence
    @property
    def state_path(self) -> str:
        assert self.state_dir
        return os.path.join(self.state_dir, f"{self.name}.json")

    @property
    def counters_path(self) -> str:
        assert self.state_dir
        return os.path.join(self.state_dir, f"{self.name}.counters.json")

    def serialise(self) -> str:
        return json.dumps(self.state, sort_keys=True, indent=1) + "\n"

    def save_if_changed(self) -> bool:
        """Write the state atomically if it differs from what is on disk."""
        with self.lock:
            text = self.serialise()
            if text == self._last_saved or not self.state_dir:
                return False
            _atomic_write(self.state_path, text)
            self._last_saved = text
            return True

    def save_counters(self) -> None:
        if not self.state_dir:
            return
        with self.lock:
            _atomic_write(self.counters_path, json.dumps(self.counters, sort_keys=True, indent=1) + "\n")

    def count(self, key: str, amount: int = 1) -> None:
        with self.lock:
            self.counters[key] = self.counters.get(key, 0) + amount

    def count_in(self, group: str, key: str, amount: int = 1) -> None:
        with self.lock:
            bucket = self.counters.setdefault(group, {})
            bucket[key] = bucket.get(key, 0) + amount

    # ------------------------------------------------------------------ identity
    @property
    def faults(self) -> dict:
        return self.state.get("faults") or {}

    @property
    def os(self) -> dict:
        return self.state["os"]

    @property
    def is_server(self) -> bool:
        return self.state["os"]["product_type"] in (2, 3)

    @property
    def is_workstation(self) -> bool:
        return self.state["os"]["product_type"] == 1

    def check_credentials(self, username: str, password: str) -> bool:
        creds = self.state.get("credentials") or {}
        user = creds.get("username", "")
        # Windows user names are case-insensitive; a DOMAIN\ or @domain suffix is tolerated.
        given = username.split("\\")[-1].split("@")[0]
        return given.lower() == user.split("\\")[-1].lower() and password == creds.get("password")

    # ------------------------------------------------------------------ clock / boot
    def now(self) -> float:
        if self._timer_time is not None:
            return self._timer_time
        return self.clock.now()

    def begin_command(self) -> None:
        """A command starts: its virtual time starts at the host's time; due timers run first."""
        self.clock.begin_command()
        self.tick()

    def end_command(self) -> float:
        """The command ends; returns the real seconds its answer must be held back (``clock.py``)."""
        return self.clock.end_command()

    def advance(self, seconds: float) -> float:
        """Let ``seconds`` of simulated time pass on this host; returns the new time.

        Inside a command this is virtual time (nothing sleeps). The timers that fall due run in
        order, each at its own time, so a wait observes what happens during it.
        """
        return self.advance_to(self.now() + max(0.0, float(seconds)))

    def advance_to(self, target: float) -> float:
        """Let simulated time pass until ``target`` (see ``advance``); never goes back."""
        with self.lock:
            while True:
                due = [float(t["at"]) for t in self.state.get("timers") or [] if float(t["at"]) <= target]
                if not due:
                    break
                self.clock.set_time(min(due))
                self.tick()
            self.clock.set_time(target)
            return self.now()

    @property
    def last_boot_filetime(self) -> int:
        return int(self.state["boot"]["last_boot_filetime"])

    def request_reboot(self, delay: float) -> None:
        with self.lock:
            self.reboot_requested = max(0.0, float(delay))

    def complete_boot(self) -> None:
        """Called by the server when a simulated reboot finishes: what Windows does at boot."""
        with self.lock:
            boot = self.state["boot"]
            new_ft = unix_to_filetime(self.now())
            if new_ft <= boot["last_boot_filetime"]:
                new_ft = boot["last_boot_filetime"] + 10_000_000
            boot["last_boot_filetime"] = new_ft
            boot["count"] = boot.get("count", 0) + 1
            # Pending-reboot markers are cleared by the reboot.
            self.reg_delete_key(CBS_REBOOT_PENDING_KEY)
            self.reg_delete_key(WU_REBOOT_REQUIRED_KEY)
            self.reg_delete_value(SESSION_MANAGER_KEY, "PendingFileRenameOperations")
            # Temp directories of the previous boot stay; Ansible cleans its own.
            for hook in list(_BOOT_HOOKS):
                hook(self)
            rules.on_boot(self.state)
            self.save_if_changed()

    # ------------------------------------------------------------------ registry
    def _reg(self) -> dict:
        return self.state.setdefault("registry", {})

    def _find_key(self, key: str) -> str | None:
        wanted = norm_key(key)
        for existing in self._reg():
            if norm_key(existing) == wanted:
                return existing
        return None

    def reg_key_exists(self, key: str) -> bool:
        return self._find_key(key) is not None

    def reg_get(self, key: str, name: str, default: Any = None) -> Any:
        """Return the data of a value (or ``default``)."""
        item = self.reg_get_item(key, name)
        return default if item is None else item["data"]

    def reg_get_item(self, key: str, name: str) -> dict | None:
        real = self._find_key(key)
        if real is None:
            return None
        for vname, item in self._reg()[real].items():
            if vname.lower() == name.lower():
                return item
        return None

    def reg_values(self, key: str) -> dict:
        real = self._find_key(key)
        return dict(self._reg()[real]) if real else {}

    def reg_subkeys(self, key: str) -> list[str]:
        prefix = norm_key(key) + "\\"
        out = set()
        for existing in self._reg():
            low = norm_key(existing)
            if low.startswith(prefix):
                rest = existing[len(prefix) :]
                out.add(rest.split("\\")[0])
        return sorted(out)

    def reg_set(self, key: str, name: str, data: Any, rtype: str = "REG_DWORD") -> bool:
        """Set a value; returns True when something changed. Creates the key."""
        with self.lock:
            real = self._find_key(key)
            if real is None:
                real = _canonical_key(key)
                self._reg()[real] = {}
            values = self._reg()[real]
            for vname in list(values):
                if vname.lower() == name.lower() and vname != name:
                    values[name] = values.pop(vname)
            new = {"type": rtype, "data": data}
            if values.get(name) == new:
                return False
            values[name] = new
            return True

    def reg_ensure_key(self, key: str) -> bool:
        with self.lock:
            if self._find_key(key) is not None:
                return False
            self._reg()[_canonical_key(key)] = {}
            return True

    def reg_delete_value(self, key: str, name: str) -> bool:
        with self.lock:
            real = self._find_key(key)
            if real is None:
                return False
            for vname in list(self._reg()[real]):
                if vname.lower() == name.lower():
                    del self._reg()[real][vname]
                    return True
            return False

    def reg_delete_key(self, key: str) -> bool:
        with self.lock:
            wanted = norm_key(key)
            removed = False
            for existing in list(self._reg()):
                low = norm_key(existing)
                if low == wanted or low.startswith(wanted + "\\"):
                    del self._reg()[existing]
                    removed = True
            return removed

    # ------------------------------------------------------------------ services
    def service(self, name: str) -> dict | None:
        for sname, svc in self.state.get("services", {}).items():
            if sname.lower() == name.lower():
                return svc
        return None

    def service_running(self, name: str) -> bool:
        svc = self.service(name)
        return svc is not None and svc.get("state") == "running"

    def set_service(self, name: str, **fields: Any) -> bool:
        with self.lock:
            services = self.state.setdefault("services", {})
            svc = self.service(name)
            if svc is None:
                svc = {"display_name": name, "start_mode": "auto", "state": "stopped"}
                services[name] = svc
                changed = True
            else:
                changed = False
            for k, v in fields.items():
                if svc.get(k) != v:
                    svc[k] = v
                    changed = True
            return changed

    # ------------------------------------------------------------------ files
    def _files(self) -> dict:
        return self.state.setdefault("files", {})

    def path_exists(self, path: str) -> bool:
        return norm_path(path) in self._files()

    def is_dir(self, path: str) -> bool:
        item = self._files().get(norm_path(path))
        return item is not None and item["type"] == "dir"

    def make_dirs(self, path: str) -> None:
        with self.lock:
            parts = norm_path(path).split("\\")
            for i in range(1, len(parts) + 1):
                sub = "\\".join(parts[:i])
                if len(sub) <= 2:  # "c:"
                    continue
                self._files().setdefault(sub, {"type": "dir"})

    def write_file(self, path: str, data: bytes) -> str:
        with self.lock:
            parent = ntpath.dirname(norm_path(path))
            if parent and len(parent) > 2:
                self.make_dirs(parent)
            sha1 = hashlib.sha1(data).hexdigest()
            self._files()[norm_path(path)] = {
                "type": "file",
                "size": len(data),
                "sha1": sha1,
                "data": base64.b64encode(data).decode("ascii"),
            }
            return sha1

    def read_file(self, path: str) -> bytes | None:
        item = self._files().get(norm_path(path))
        if not item or item["type"] != "file":
            return None
        return base64.b64decode(item["data"])

    def remove_path(self, path: str) -> bool:
        with self.lock:
            target = norm_path(path)
            removed = False
            for existing in list(self._files()):
                if existing == target or existing.startswith(target + "\\"):
                    del self._files()[existing]
                    removed = True
            return removed

    def temp_dir(self) -> str:
        return self.state.get("env", {}).get("TEMP", r"C:\Windows\TEMP")

    def expand_env(self, text: str) -> str:
        env = {
            "TEMP": self.temp_dir(),
            "TMP": self.temp_dir(),
            "WINDIR": r"C:\Windows",
            "SYSTEMROOT": r"C:\Windows",
            "PROGRAMFILES": r"C:\Program Files",
            "PROGRAMDATA": r"C:\ProgramData",
            "USERPROFILE": r"C:\Users\%s" % self.state.get("credentials", {}).get("username", "ansible"),
        }
        out = text
        for k, v in env.items():
            for variant in (f"%{k}%", f"%{k.lower()}%", f"$env:{k}", f"$env:{k.lower()}"):
                out = out.replace(variant, v)
        return out

    def mkdtemp(self, directory: str, name: str) -> str:
        base = self.expand_env(directory)
        path = ntpath.join(base, name)
        self.make_dirs(path)
        return path

    # ------------------------------------------------------------------ event log
    def write_event(self, log: str, source: str, event_id: int, level: str, message: str) -> None:
        with self.lock:
            events = self.state.setdefault("events", [])
            events.append(
                {
                    "log": log,
                    "source": source,
                    "id": int(event_id),
                    "level": level,
                    "message": message,
                    "time": round(self.now(), 3),
                    "record": len(events) + 1,
                }
            )
            # Keep the log bounded like a real one.
            del events[:-200]

    def events(self, log: str | None = None, source: str | None = None) -> list[dict]:
        out = []
        for ev in self.state.get("events", []):
            if log and ev["log"].lower() != log.lower():
                continue
            if source and ev["source"].lower() != source.lower():
                continue
            out.append(ev)
        return out

    # ------------------------------------------------------------------ timers
    def schedule(self, delay: float, action: str, **kwargs: Any) -> None:
        """Run a registered timer action (see ``timer_action``) once ``delay`` seconds have passed.

        Timers live in the persisted state, so they survive a simulator restart; they run
        from ``tick()``, which the server calls before every command.
        """
        with self.lock:
            self.state.setdefault("timers", []).append(
                {"at": round(self.now() + float(delay), 3), "action": action, "kwargs": kwargs}
            )

    def tick(self) -> None:
        """Run the timers that are due, in order, each at its own time.

        A timer that runs late (nothing asked the host anything for a while) still runs as of its
        own time: what it schedules in turn (Sense writing its state 2 s after it runs) counts
        from then, and runs in the same tick when that is due too.
        """
        with self.lock:
            now = self.now()
            while True:
                timers = self.state.get("timers") or []
                due = [t for t in timers if t["at"] <= now]
                if not due:
                    break
                first = min(due, key=lambda t: t["at"])
                timers.remove(first)
                if not timers:
                    del self.state["timers"]
                self._timer_time = float(first["at"])
                try:
                    _TIMER_ACTIONS[first["action"]](self, **first["kwargs"])
                finally:
                    self._timer_time = None

    # ------------------------------------------------------------------ Defender view
    def running_mode(self) -> str | None:
        """AMRunningMode as Get-MpComputerStatus would print it (None: not installed)."""
        return rules.derive_running_mode(self.state)

    def new_id(self) -> str:
        return str(uuid.uuid4())


# Boot hooks registered by other parts of the simulator (e.g. Group Policy at boot).
_BOOT_HOOKS: list = []
_TIMER_ACTIONS: dict = {}


def timer_action(name: str) -> Any:
    """Register a function ``func(host, **kwargs)`` that ``SimHost.schedule`` can run later."""

    def register(func):
        _TIMER_ACTIONS[name] = func
        return func

    return register


def on_boot(func):
    _BOOT_HOOKS.append(func)
    return func


def _canonical_key(key: str) -> str:
    key = key.replace("/", "\\").strip("\\")
    upper = key.upper()
    for prefix in ("HKEY_LOCAL_MACHINE\\", "HKLM:\\", "HKLM\\"):
        if upper.startswith(prefix):
            return "HKLM\\" + key[len(prefix) :]
    return key


def _atomic_write(path: str, text: str) -> None:
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
