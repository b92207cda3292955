"""docs/inventory.md: every example inventory parses, and every connection variable is a real one.

Ansible silently ignores a variable no plugin reads, so a misspelt ``ansible_winrm_*`` in the
documentation would give users a connection that does not do what the page says. Each example is
parsed by ``ansible-inventory`` and its variables are checked against what the ``winrm`` and
``psrp`` connection plugins read: their documented options, and for ``winrm`` the pywinrm
``Protocol`` arguments it passes through (``ansible_winrm_<argument>``), which is how the plugin
itself decides.
"""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC = REPO_ROOT / "docs" / "inventory.md"
BIN = Path(sys.executable).parent
EXAMPLE_RE = re.compile(r"```yaml\n# inventory: ([a-z0-9-]+)\n(.*?)```", re.S)
EXPECTED = {"kerberos-https", "ntlm-https", "credssp-https", "psrp-https"}
# Variables every connection reads (ansible's own, not the plugins').
GENERIC = {"ansible_connection", "ansible_host", "ansible_port", "ansible_user", "ansible_password"}


def examples() -> dict[str, str]:
    found = dict(EXAMPLE_RE.findall(DOC.read_text(encoding="utf-8")))
    assert set(found) == EXPECTED, "docs/inventory.md examples: %s" % sorted(found)
    return found


def plugin_vars(name: str) -> tuple[set[str], dict]:
    """The variables a connection plugin reads and its options, as ansible-doc documents them."""
    proc = subprocess.run(
        [str(BIN / "ansible-doc"), "-t", "connection", "ansible.builtin." + name, "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    options = json.loads(proc.stdout)["ansible.builtin." + name]["doc"]["options"]
    names = {v["name"] for option in options.values() for v in option.get("vars", [])}
    return names, options


def winrm_vars() -> set[str]:
    names, _options = plugin_vars("winrm")
    from winrm.protocol import Protocol

    passthrough = {"ansible_winrm_" + p for p in inspect.signature(Protocol.__init__).parameters if p != "self"}
    return names | passthrough


@pytest.fixture(scope="module")
def parsed(tmp_path_factory) -> dict[str, dict]:
    out = {}
    tmp = tmp_path_factory.mktemp("inventories")
    for name, text in examples().items():
        path = tmp / (name + ".yml")
        path.write_text(text, encoding="utf-8")
        proc = subprocess.run(
            [str(BIN / "ansible-inventory"), "-i", str(path), "--list"],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp,
        )
        assert proc.returncode == 0, (name, proc.stderr)
        assert "[WARNING]" not in proc.stderr, (name, proc.stderr)
        out[name] = json.loads(proc.stdout)
    return out


def hostvars(inventory: dict) -> dict[str, dict]:
    hosts = inventory["windows"]["hosts"]
    assert hosts, "an example inventory must have hosts"
    return {h: inventory["_meta"]["hostvars"][h] for h in hosts}


def test_every_example_parses_into_the_windows_group(parsed):
    for name, inventory in parsed.items():
        for host, hv in hostvars(inventory).items():
            assert hv["ansible_connection"] in ("winrm", "psrp"), (name, host)
            assert hv["ansible_port"] == 5986, (name, host, "HTTPS")
            assert hv["ansible_password"].startswith("{{ vault_"), (name, "passwords come from the vault")


def test_connection_variables_are_real(parsed):
    winrm = winrm_vars()
    psrp = plugin_vars("psrp")[0]
    for name, inventory in parsed.items():
        for host, hv in hostvars(inventory).items():
            known = GENERIC | (winrm if hv["ansible_connection"] == "winrm" else psrp)
            unknown = sorted(v for v in hv if v.startswith("ansible_") and v not in known)
            assert not unknown, (name, host, unknown)


def test_certificates_are_validated_over_https(parsed):
    for inventory in parsed.values():
        for hv in hostvars(inventory).values():
            if hv["ansible_connection"] == "winrm":
                assert hv["ansible_winrm_scheme"] == "https"
                assert hv["ansible_winrm_server_cert_validation"] == "validate"
                assert hv["ansible_winrm_ca_trust_path"].endswith(".pem")
            else:
                assert hv["ansible_psrp_protocol"] == "https" and hv["ansible_psrp_cert_validation"] == "validate"
                assert hv["ansible_psrp_ca_cert"].endswith(".pem")


def test_transports_are_the_plugins_choices(parsed):
    _names, psrp = plugin_vars("psrp")
    transports = {
        name: hostvars(inv)[next(iter(hostvars(inv)))].get("ansible_winrm_transport") for name, inv in parsed.items()
    }
    assert transports == {
        "kerberos-https": "kerberos",
        "ntlm-https": "ntlm",
        "credssp-https": "credssp",
        "psrp-https": None,
    }
    from winrm.transport import Transport

    source = inspect.getsource(Transport)
    for transport in ("kerberos", "ntlm", "credssp"):
        assert "'%s'" % transport in source or '"%s"' % transport in source, transport
    auth = hostvars(parsed["psrp-https"])["srv-app-01.corp.example.com"]["ansible_psrp_auth"]
    assert auth in psrp["auth"]["choices"]
    kinit = hostvars(parsed["kerberos-https"])["srv-app-01.corp.example.com"]["ansible_winrm_kinit_mode"]
    _names, winrm = plugin_vars("winrm")
    assert kinit in winrm["kerberos_mode"]["choices"]


def test_the_page_names_what_the_controller_needs():
    text = DOC.read_text(encoding="utf-8")
    for needed in ("pywinrm[kerberos]", "pywinrm[credssp]", "pypsrp", "krb5-devel", "krb5.conf", "Recommendation"):
        assert needed in text, needed
