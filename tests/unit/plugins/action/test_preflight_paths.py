"""The pre-flight looks for a relative path beside the user's playbook first (the one given to
ansible-playbook, also when it imports one of the collection's), then beside the play, then in
the current directory."""

from __future__ import annotations

import os
from unittest.mock import MagicMock

from ansible import context
from ansible.module_utils.common.collections import ImmutableDict
from ansible.playbook.task import Task

from ansible_collections.mdeops.defender.plugins.action.preflight import ActionModule


def test_search_dirs_start_with_the_playbook_given_on_the_command_line(tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    site = project / "site.yml"
    site.write_text("- ansible.builtin.import_playbook: mdeops.defender.rollout\n")
    monkeypatch.setattr(context, "CLIARGS", ImmutableDict(args=(str(site), "not-a-file.yml")))
    monkeypatch.chdir(tmp_path)
    loader = MagicMock()
    loader.get_basedir.return_value = "/collections/ansible_collections/mdeops/defender/playbooks"
    plugin = ActionModule(
        MagicMock(Task), MagicMock(), MagicMock(), loader=loader, templar=None, shared_loader_obj=None
    )
    assert plugin._search_dirs() == [
        str(project),
        "/collections/ansible_collections/mdeops/defender/playbooks",
        os.getcwd(),
    ]


def _fleet_plugin():
    templar = MagicMock()
    templar.template.side_effect = lambda value: value
    return ActionModule(
        MagicMock(Task), MagicMock(), MagicMock(), loader=MagicMock(), templar=templar, shared_loader_obj=None
    )


def _assessed(steps, problems=()):
    return {
        "hostname": "",
        "plan": {"steps": steps, "reason": None, "wave": True, "passive_value": None},
        "diagnosis": {"problems": [{"reason": r} for r in problems]},
    }


def test_the_fleet_check_lists_the_pending_hosts_in_the_order_of_mde_waves():
    hostvars = {
        "a-ws": {"__assess": _assessed(["onboard", "verify_mode"])},
        "b-ws": {"__assess": _assessed(["onboard", "verify_mode"])},
        "c-dl": {"__assess": _assessed(["onboard", "verify_mode"], ["unified_agent_required"])},
        "d-done": {"__assess": dict(_assessed([]), plan={"steps": [], "reason": None, "wave": False})},
    }
    task_vars = {
        "hostvars": hostvars,
        "ansible_play_hosts": sorted(hostvars),
        "mde_rollout_onboarding_package": "x.zip",
        "mde_rollout_installer": "md4ws.msi",
    }
    plugin = _fleet_plugin()
    # the default waves (1, 50, ...): the canary a-ws, then the other two in one wave, the installer host first
    assert plugin._fleet("mde_rollout", "__assess", task_vars)["pending"] == ["a-ws", "c-dl", "b-ws"]
    # one host a wave: the waves keep the sorted names
    single = dict(task_vars, mde_waves=[1])
    assert plugin._fleet("mde_rollout", "__assess", single)["pending"] == ["a-ws", "b-ws", "c-dl"]
    # one wave: the installer host first
    one_wave = dict(task_vars, mde_waves=["100%"])
    assert plugin._fleet("mde_rollout", "__assess", one_wave)["pending"] == ["c-dl", "a-ws", "b-ws"]
    # waves the pre-flight refuses do not stop the fleet check (stage inputs reported them): the defaults
    bad_waves = dict(task_vars, mde_waves="x")
    assert plugin._fleet("mde_rollout", "__assess", bad_waves)["pending"] == ["a-ws", "c-dl", "b-ws"]
