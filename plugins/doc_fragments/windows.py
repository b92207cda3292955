# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# What the collection's Windows modules (action plugin + PowerShell) document alike.
# The argument specs they document are in plugins/module_utils/_specs.py;
# tests/unit/test_specs_match_docs.py keeps spec and documentation (fragments merged) equal.


class ModuleDocFragment:
    # Every Windows module: runs on Windows hosts (WinRM or PSRP) and supports check mode; a module
    # says in its own check_mode details what check mode does there.
    DOCUMENTATION = r"""
attributes:
  platform:
    platforms: windows
  check_mode:
    support: full
"""

    # The modules that look for the host's antivirus products.
    AV_PATTERNS = r"""
options:
  av_name_patterns:
    description:
      - Extra wildcard patterns (PowerShell C(-like)) for antivirus service names, service display names and
        installed-product names, added to the built-in catalogue of well-known products.
      - Needed on servers, which have no Security Center, when the third-party antivirus is not a well-known
        product. On workstations it also finds products that are not registered with Security Center.
      - A product found only through one of these patterns has V(user_pattern) in its C(found_by).
    type: list
    elements: str
    default: []
"""

    # The modules that diagnose the host as win_mde_info does.
    SUPPORT_POLICY = r"""
options:
  support_policy:
    description:
      - Which list of supported Windows versions the diagnosis applies.
      - V(microsoft) follows Microsoft's documentation (Windows 10/11, Windows Server 2012 R2 and 2016 with the
        unified solution, Windows Server 1803 or later).
      - V(guide) follows the source guide (Windows 10 1703 or later and Windows 11 only).
    type: str
    choices: [microsoft, guide]
    default: microsoft
"""

    # The change modules that can take the host state the caller already read.
    ASSESSMENT = r"""
options:
  assessment:
    description:
      - The registered result of M(mdeops.defender.win_mde_info) for this host, read just before (for example the
        role's assessment). The module then does not read the host again before its change; what must hold at the
        moment of the change is still checked on the host, in the same round trip as the change.
      - Without it the module reads the host first (one more WinRM round trip).
    type: dict
"""

    # The internal options of the host read (win_mde_info.ps1, win_antivirus_info.ps1): documented
    # because the .ps1 argument spec must match the documentation (validate-modules).
    HOST_READ = r"""
options:
  _mp_status_fields:
    description:
      - The C(Get-MpComputerStatus) properties to read.
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: list
    elements: str
    default: []
  _service_patterns:
    description:
      - Wildcard patterns of antivirus service names and display names to list.
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: list
    elements: str
    default: []
  _product_patterns:
    description:
      - Wildcard patterns of installed-product names to list.
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: list
    elements: str
    default: []
"""
