"""The invariants every end-to-end scenario must keep, checked by one reusable helper.

* Never unprotected: a host that had real-time protection (Defender active, or a third-party
  antivirus with real-time protection on) before a run still has it after, whatever failed.
* Never wrong tenant: no host ends onboarded to an organisation other than the expected one
  (a host that was already onboarded elsewhere must be left exactly so).
* Check mode changes nothing: every simulated host's state file is byte-identical after ``--check``.
* Nothing secret in the output: neither the WinRM password nor the API client secret appears in
  stdout, stderr, the reports or the logs given to the helper.

Usage::

    guard = Invariants(sim, expected_org=ORG, secrets=[API_SECRET])
    rc, out, err = sim.playbook(...)
    guard.check(out, err, check_mode=False, report_dir=reports)

``sim`` is a ``WinSim`` or a ``CloudStand`` (anything with ``state_dir``). The output of every run the
harness made between the two calls (``sim.outputs``: ``WinSim.run``, ``CloudStand.playbook``) is
searched for secrets too, so a scenario of several runs needs one guard.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.winsim import rules

ATP_STATUS = r"hklm\software\microsoft\windows advanced threat protection\status"
ATP_POLICY = r"hklm\software\policies\microsoft\windows advanced threat protection"


def _reg(state: dict, key: str, name: str) -> Any:
    for k, values in state.get("registry", {}).items():
        if k.lower() == key:
            for vname, item in values.items():
                if vname.lower() == name.lower():
                    return item.get("data")
    return None


def onboarded_org(state: dict) -> str | None:
    """The org a simulated host is onboarded to (OnboardingState 1), else None."""
    if _reg(state, ATP_STATUS, "OnboardingState") != 1:
        return None
    org = _reg(state, ATP_STATUS, "OrgId") or _info_org(_reg(state, ATP_POLICY, "OnboardingInfo"))
    return str(org).strip("{}").lower() if org else "unknown"


def _info_org(info: Any) -> str | None:
    """``orgId`` of an ``OnboardingInfo`` value (JSON whose ``body`` is JSON), as the simulator reads it."""
    try:
        body = json.loads(str(info)).get("body")
        body = json.loads(body) if isinstance(body, str) else body
        return body.get("orgId") if isinstance(body, dict) else None
    except (TypeError, ValueError, AttributeError):
        return None


class Invariants:
    def __init__(self, sim: Any, expected_org: str | None = None, secrets: list[str] | tuple[str, ...] = ()) -> None:
        self.sim = sim
        self.expected_org = expected_org.lower() if expected_org else None
        self.secrets = [s for s in secrets if s]
        self.secrets += sorted({h["credentials"]["password"] for h in self._states().values() if h.get("credentials")})
        self.before_bytes = self._bytes()
        self.before = self._states()
        # the harness (WinSim.run, CloudStand.playbook) records every run's output: check() reads the new ones
        self._outputs_seen = len(getattr(sim, "outputs", None) or [])

    def _paths(self) -> list[Path]:
        return sorted(p for p in Path(self.sim.state_dir).glob("*.json") if not p.name.endswith(".counters.json"))

    def _bytes(self) -> dict[str, bytes]:
        out = {p.name: p.read_bytes() for p in self._paths()}
        domain = Path(self.sim.state_dir) / "domain"
        if domain.is_dir():
            out.update({"domain/" + p.name: p.read_bytes() for p in domain.glob("*.json")})
        return out

    def _states(self) -> dict[str, dict]:
        return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in self._paths()}

    # ------------------------------------------------------------------ the checks
    def protected_before(self) -> dict[str, bool]:
        return {h: rules.host_has_real_time_protection(s) for h, s in self.before.items()}

    def check(
        self,
        *outputs: str,
        check_mode: bool = False,
        report_dir: str | os.PathLike | None = None,
        logs: list[str | os.PathLike] | tuple = (),
    ) -> None:
        after = self._states()
        problems = []
        for host, was in self.protected_before().items():
            if was and not rules.host_has_real_time_protection(after[host]):
                problems.append(
                    "%s lost real-time protection (Defender %s, third-party RTP %s)"
                    % (host, rules.derive_running_mode(after[host]), rules.third_party_rtp_active(after[host]))
                )
        for host, state in after.items():
            org = onboarded_org(state)
            before_org = onboarded_org(self.before[host])
            if org and self.expected_org and org != self.expected_org and org != before_org:
                problems.append("%s ended onboarded to %s, not the expected %s" % (host, org, self.expected_org))
            if before_org and before_org != self.expected_org and org != before_org:
                problems.append("%s was onboarded to %s and the run changed it to %s" % (host, before_org, org))
        if check_mode:
            now = self._bytes()
            changed = sorted(
                name for name in set(now) | set(self.before_bytes) if now.get(name) != self.before_bytes.get(name)
            )
            if changed:
                problems.append("check mode changed state files: %s" % ", ".join(changed))
        recorded = [text for pair in (getattr(self.sim, "outputs", None) or [])[self._outputs_seen :] for text in pair]
        texts = [("output %d" % i, o) for i, o in enumerate([*outputs, *recorded]) if o]
        if report_dir and Path(report_dir).is_dir():
            for p in Path(report_dir).rglob("*"):
                if p.is_file():
                    texts.append((str(p), p.read_text(encoding="utf-8", errors="replace")))
        for log in logs:
            if Path(log).is_file():
                texts.append((str(log), Path(log).read_text(encoding="utf-8", errors="replace")))
        for secret in self.secrets:
            for where, text in texts:
                if secret in text:
                    problems.append("a secret (%s...) appears in %s" % (secret[:3], where))
        assert not problems, "invariants broken:\n  " + "\n  ".join(problems)
