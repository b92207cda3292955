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
