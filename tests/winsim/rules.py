"""How Microsoft Defender Antivirus picks its running mode, as a function of host state.

This is the one place where the simulator decides ``AMRunningMode``. Modules never set the
mode: they change the registry, services, onboarding or the third-party AV, and the mode
follows from these rules. Every rule cites the section of ``docs/sources.md`` it comes from
(the Microsoft page is named there).

Modelling choices where Microsoft documents nothing (UNCONFIRMED in docs/sources.md) are marked
"MODEL:" and listed in docs/simulator.md.
"""

from __future__ import annotations

from typing import Any

ATP_POLICY_KEY = r"HKLM\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection"
ATP_STATUS_KEY = r"HKLM\SOFTWARE\Microsoft\Windows Advanced Threat Protection\Status"
DEFENDER_POLICY_KEY = r"HKLM\SOFTWARE\Policies\Microsoft\Windows Defender"
RTP_POLICY_KEY = r"HKLM\SOFTWARE\Policies\Microsoft\Windows Defender\Real-Time Protection"

NORMAL = "Normal"
PASSIVE = "Passive Mode"
EDR_BLOCK = "EDR Block Mode"
SXS_PASSIVE = "SxS Passive Mode"
NOT_RUNNING = "Not running"  # UNCONFIRMED spelling for the disabled state (docs/sources.md §2.1)

# §5.1: DisableAntiSpyware is ignored on clients from this platform version on.
CLIENT_DISABLE_ANTISPYWARE_IGNORED_FROM = (4, 18, 2007, 8)
# §8 and §5.1: server behaviour changes with this platform version.
SERVER_TP_LOCK_FROM = (4, 18, 2208, 0)

POLICY_VALUES = (
    (ATP_POLICY_KEY, "ForceDefenderPassiveMode"),
    (DEFENDER_POLICY_KEY, "DisableAntiSpyware"),
    (RTP_POLICY_KEY, "DisableRealtimeMonitoring"),
)


def version_tuple(text: str | None) -> tuple[int, ...]:
    parts = []
    for piece in str(text or "0").split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def _reg_get(state: dict, key: str, name: str) -> Any:
    wanted = key.lower()
    for k, values in state.get("registry", {}).items():
        if k.lower() == wanted:
            for vname, item in values.items():
                if vname.lower() == name.lower():
                    return item.get("data")
    return None


def _service_running(state: dict, name: str) -> bool:
    for sname, svc in state.get("services", {}).items():
        if sname.lower() == name.lower():
            return svc.get("state") == "running"
    return False


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def read_policy(state: dict) -> dict:
    """The policy values that matter, as they are in the registry right now."""
    return {name: _as_int(_reg_get(state, key, name)) for key, name in POLICY_VALUES}


def is_onboarded(state: dict) -> bool:
    """§3.3: OnboardingState = 1 and the Sense service running."""
    return _as_int(_reg_get(state, ATP_STATUS_KEY, "OnboardingState")) == 1 and _service_running(state, "Sense")


def third_party_rtp_active(state: dict) -> bool:
    """A non-Microsoft AV that is installed with real-time protection on."""
    return any(av.get("installed", True) and av.get("real_time") for av in state.get("third_party_av", []))


def third_party_registered_active(state: dict) -> bool:
    """§1.1 / §4: what a client's Defender can see — registered with WSC and on."""
    return any(
        av.get("installed", True) and av.get("real_time") and av.get("registered", True)
        for av in state.get("third_party_av", [])
    )


def _is_server(state: dict) -> bool:
    return state["os"]["product_type"] in (2, 3)


def _is_downlevel_server(state: dict) -> bool:
    """Server 2012 R2 (9600) and 2016 (14393): passive only with the unified solution (§1.4)."""
    return _is_server(state) and state["os"]["build"] in (9600, 14393)


def derive_running_mode(state: dict) -> str | None:
    """``AMRunningMode`` as ``Get-MpComputerStatus`` would report it; None = not installed."""
    defender = state.get("defender", {})
    if not defender.get("installed", True):
        return None
    if not _service_running(state, "WinDefend"):
        return NOT_RUNNING
    policy = defender.get("effective_policy") or read_policy(state)
    platform = version_tuple(defender.get("platform_version"))
    # MODEL: Defender takes the sensor's onboarding into account some time after it (see
    # ``on_onboarded``); until then it runs as it did before.
    onboarded = is_onboarded(state) and defender.get("sees_onboarded", True)
    edr_block = bool(state.get("mde", {}).get("edr_block_mode"))
    passive = EDR_BLOCK if edr_block else PASSIVE  # §2.1, §8

    if not _is_server(state):
        # §5.1: DisableAntiSpyware only works on old client platforms.
        if policy.get("DisableAntiSpyware") == 1 and platform < CLIENT_DISABLE_ANTISPYWARE_IGNORED_FROM:
            return NOT_RUNNING
        # §1.1: with the Security Center service off, MDAV cannot see the other AV.
        if not _service_running(state, "WscSvc"):
            return NORMAL
        # §1.1: no registered third-party AV with RTP on -> MDAV is the primary AV.
        if not third_party_registered_active(state):
            return NORMAL
        if onboarded:
            return passive  # §1.1: clients go passive by themselves when onboarded
        if defender.get("smart_app_control") and state["os"]["build"] >= 22000:
            return PASSIVE  # §1.1 Windows 11 exception
        if defender.get("limited_periodic_scanning"):
            return SXS_PASSIVE  # §2.1
        return NOT_RUNNING  # §1.1: third-party AV, not onboarded -> disabled
    # ---- Windows Server (and domain controllers): never automatic (§1.1).
    mde = state.get("mde", {})
    if _is_downlevel_server(state) and not mde.get("unified_agent"):
        return NORMAL  # §1.4/§9.1: old MMA-based solution, passive unsupported
    if not onboarded:
        if mde.get("unified_agent_force_passive") and policy.get("ForceDefenderPassiveMode") != 0:
            # §1.2: FORCEPASSIVEMODE=1 on md4ws.msi, immediately at install. MODEL: the documented
            # way back to active (ForceDefenderPassiveMode = 0, reboot) also ends it.
            return PASSIVE
        if policy.get("DisableAntiSpyware") == 1:
            return NOT_RUNNING  # §1.1/§9.1: disabled by policy
        return NORMAL  # §1.1: server, not onboarded -> stays active
    force = policy.get("ForceDefenderPassiveMode")
    if policy.get("DisableAntiSpyware") == 1:
        if defender.get("disabled_before_onboarding"):
            # §5.1: policy in place before onboarding -> stays disabled; Force=1 -> passive
            return passive if force == 1 else NOT_RUNNING
        # §5.1: applied after onboarding on platform >= 4.18.2208.0 -> passive
        return passive if platform >= SERVER_TP_LOCK_FROM else NOT_RUNNING
    if force == 1:
        # §8: once active, tamper protection keeps MDAV from going passive again.
        if defender.get("active_latched") and defender.get("tamper_protection") and platform >= SERVER_TP_LOCK_FROM:
            return NORMAL
        return passive
    return NORMAL


def real_time_protection_enabled(state: dict, mode: str | None) -> bool:
    """§1.5/§2.2: RTP is on when MDAV is active; in passive mode only with Endpoint DLP."""
    if mode is None or mode == NOT_RUNNING:
        return False
    defender = state.get("defender", {})
    policy = defender.get("effective_policy") or read_policy(state)
    if mode == NORMAL:
        # §8: tamper protection ignores the policy that turns RTP off.
        if policy.get("DisableRealtimeMonitoring") == 1 and not defender.get("tamper_protection"):
            return False
        return True
    return bool(defender.get("dlp_enabled"))


def host_has_real_time_protection(state: dict) -> bool:
    """The invariant the collection must keep: Defender active or a third-party AV with RTP on."""
    mode = derive_running_mode(state)
    return real_time_protection_enabled(state, mode) or third_party_rtp_active(state)


def snapshot_policy(state: dict) -> None:
    """MODEL: Defender reads its policy at service start (boot) and when Sense onboards."""
    state.setdefault("defender", {})["effective_policy"] = read_policy(state)


def _update_latch(state: dict) -> None:
    if _is_server(state) and is_onboarded(state):
        state["defender"]["active_latched"] = derive_running_mode(state) == NORMAL


# ---------------------------------------------------------------------------- the timeline
#
# MODEL (UNCONFIRMED: Microsoft gives no numbers): Defender does not switch its mode at the instant
# the sensor onboards or the machine boots. It reads its policy at that moment and switches some
# time later. A host's ``timeline`` (fleet file) sets these delays; without one they are 0 (the
# switch happens at once). ``native/services.py`` runs the timers; these functions change the state.

#: The delays of ``timeline: true``: conservative choices (long enough to need a settle wait, well
#: inside the rollout's default 300 s bound). docs/simulator.md, "Defender's timeline".
TIMELINE_DEFAULTS = {
    # A client goes passive once Defender learns the sensor reports (after Sense's own start).
    "client_mode_switch_s": 60.0,
    # A server with ForceDefenderPassiveMode set before onboarding goes passive after this.
    "server_mode_switch_s": 90.0,
    # After a boot Defender starts with the policy it read at boot and switches after this.
    "boot_mode_switch_s": 45.0,
}
TIMELINE_KEYS = set(TIMELINE_DEFAULTS)


def timeline_settings(spec: Any) -> dict:
    """The ``timeline`` of a host from its fleet setting: ``true`` (the defaults), a mapping
    (the defaults with these values), ``false``/absent (no delays)."""
    if spec in (None, False):
        return {}
    if spec is True:
        return dict(TIMELINE_DEFAULTS)
    if not isinstance(spec, dict):
        raise ValueError("timeline must be true, false or a mapping of %s" % sorted(TIMELINE_KEYS))
    bad = set(spec) - TIMELINE_KEYS
    if bad:
        raise ValueError("timeline: unknown keys %s; allowed: %s" % (sorted(bad), sorted(TIMELINE_KEYS)))
    out = dict(TIMELINE_DEFAULTS)
    for key, value in spec.items():
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ValueError("timeline.%s must be a number of seconds >= 0, got %r" % (key, value))
        out[key] = float(value)
    return out


def onboarding_switch_delay(state: dict) -> float:
    """Seconds from onboarding complete to Defender switching its mode (0: at once)."""
    timeline = state.get("timeline") or {}
    key = "server_mode_switch_s" if _is_server(state) else "client_mode_switch_s"
    return float(timeline.get(key) or 0.0)


def boot_switch_delay(state: dict) -> float:
    """Seconds from the end of a boot to Defender running with the policy it read at boot (0: at once)."""
    return float((state.get("timeline") or {}).get("boot_mode_switch_s") or 0.0)


def new_switch(state: dict) -> int:
    """A new pending switch: its generation (a timer of an older one does nothing)."""
    defender = state.setdefault("defender", {})
    defender["switch_generation"] = int(defender.get("switch_generation", 0)) + 1
    return defender["switch_generation"]


def on_onboarded(state: dict) -> int | None:
    """Called when onboarding completes (Sense started, OnboardingState = 1).

    Defender reads its policy now (a value written later waits for the next boot). Without a
    timeline it switches at once and this returns None; with one it returns the generation of the
    switch the caller schedules (``settle``) ``onboarding_switch_delay`` later.
    """
    defender = state.setdefault("defender", {})
    policy = read_policy(state)
    defender["disabled_before_onboarding"] = policy.get("DisableAntiSpyware") == 1
    defender["active_latched"] = False
    defender["pending_policy"] = policy
    if onboarding_switch_delay(state) > 0:
        defender["sees_onboarded"] = False
        return new_switch(state)
    settle(state)
    return None


def on_offboarded(state: dict) -> None:
    defender = state.setdefault("defender", {})
    defender["active_latched"] = False
    defender["disabled_before_onboarding"] = False
    # Offboarding is taken into account at once (Sense stopped): a pending switch is void.
    if defender.pop("sees_onboarded", None) is not None or "pending_policy" in defender:
        new_switch(state)
    defender.pop("pending_policy", None)


def on_boot(state: dict) -> None:
    """Called at the end of every simulated boot, after Group Policy: Defender reads its policy.

    With a timeline (``boot_switch_delay``) it runs as before the boot until ``settle`` runs;
    ``native/services.py`` schedules that switch from its boot hook, which runs before this.
    """
    defender = state.setdefault("defender", {})
    defender["pending_policy"] = read_policy(state)
    if boot_switch_delay(state) > 0:
        return
    settle(state)


def settle(state: dict, generation: int | None = None) -> None:
    """Defender switches to what the policy it read (at onboarding or boot) and the sensor say.

    ``generation``: the switch a timer was scheduled for; a newer one (a boot, an offboarding in
    between) makes it do nothing.
    """
    defender = state.setdefault("defender", {})
    if generation is not None and generation != int(defender.get("switch_generation", 0)):
        return
    defender["effective_policy"] = defender.pop("pending_policy", None) or read_policy(state)
    defender.pop("sees_onboarded", None)
    _update_latch(state)
