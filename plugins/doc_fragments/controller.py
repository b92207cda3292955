# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# The attributes of the modules that are only an action plugin (fleet_progress, fleet_report,
# preflight): they run in the controller's Ansible process whatever the target, change no host,
# run in check mode too (a module says in its own check_mode details what it still does) and show
# no diff.


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: all
"""
