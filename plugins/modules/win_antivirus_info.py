# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a documentation stub: the module is an action plugin (plugins/action/win_antivirus_info.py)
# that runs plugins/modules/win_antivirus_info.ps1 on the host.

DOCUMENTATION = r"""
---
module: win_antivirus_info
short_description: List the antivirus products of a Windows host and whether a third-party one protects it
version_added: 0.1.0
description:
  - Reads, in one WinRM round trip, the antivirus products of a host with their state (enabled, real-time
    protection on, definitions up to date, Microsoft or third party), and says whether a third-party antivirus
    provides real-time protection.
  - Workstations. The products registered with Windows Security Center (C(root\SecurityCenter2)), which is how
    Defender learns that another antivirus is there. Products whose service runs without being registered are
    listed too, with C(registered=false).
  - Servers have no Security Center. Products are found by their services and installed-product entries,
    from a built-in catalogue of well-known products and O(av_name_patterns). Defender's own entry comes from
    C(Get-MpComputerStatus).
  - Each product says which method found it in C(found_by).
  - This is step 2 of the passive-mode guide ("verify the third-party antivirus is installed, has real-time
    protection on and is registered with Security Center").
  - Read-only.
options:
  include_microsoft:
    description:
      - Whether RV(products) lists Microsoft products (Defender Antivirus) too.
      - RV(third_party_present) and RV(third_party_active) are the same either way.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mdeops.defender.info_module
  - mdeops.defender.windows
  - mdeops.defender.windows.av_patterns
  - mdeops.defender.windows.host_read
notes:
  - "Security Center does not exist on Windows Server: Microsoft documents its API as client-only.
    The guide's check that the antivirus is registered with Security Center cannot be done there.
    Microsoft documents no other detection method, so server detection is a best effort, by service and
    installed product. Extend it with O(av_name_patterns)."
  - "On servers, a third-party product counts as real-time protection when its service runs. An installed
    product whose service was not found or is stopped is listed but does not count."
  - "On workstations, RV(third_party_active) follows Security Center, because that is what Defender sees.
    A product that runs without being registered has C(real_time=false) and C(real_time_service=true), and
    counts in RV(third_party_protecting) only."
  - Microsoft does not document the bit layout of Security Center's C(productState). The community decoding is
    used, and a state it cannot decode does not count as real-time protection.
  - Defender in passive mode is reported with C(real_time=false), even when real-time protection runs for
    Endpoint DLP only.
seealso:
  - module: mdeops.defender.win_mde_info
  - module: mdeops.defender.win_mde_passive_mode
author:
  - mdeops.defender contributors (@mdeops)
"""

EXAMPLES = r"""
- name: List the antivirus products
  mdeops.defender.win_antivirus_info:
  register: av

- name: Step 2 of the guide - a third-party antivirus protects the host
  ansible.builtin.assert:
    that: av.third_party_active
    fail_msg: "No third-party antivirus with real-time protection on {{ inventory_hostname }}: {{ av.third_party_names }}"

- name: Only the third-party products, with an in-house antivirus the catalogue does not know
  mdeops.defender.win_antivirus_info:
    include_microsoft: false
    av_name_patterns:
      - ContosoAV*
  register: av_third_party

- name: Show how each product was found
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.found_by | join(', ') }}"
  loop: "{{ av_third_party.products }}"
"""

RETURN = r"""
products:
  description: The antivirus products, Microsoft ones only when O(include_microsoft=true).
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Display name (Security Center, installed product) or catalogue vendor name.
      type: str
      sample: CrowdStrike Falcon Sensor
    microsoft:
      description: A Microsoft product (Defender Antivirus).
      type: bool
    third_party:
      description: Not a Microsoft product.
      type: bool
    enabled:
      description: The product is enabled.
      type: bool
    real_time:
      description: Real-time protection is on. On workstations, as Security Center reports it.
      type: bool
    real_time_service:
      description: Its service runs (real-time protection whether or not Security Center knows it).
      type: bool
    up_to_date:
      description: Definitions are up to date; null when unknown (servers, third-party products).
      type: bool
    state:
      description: V(on), V(off), V(snoozed), V(expired) or V(unknown).
      type: str
    product_state:
      description: The raw Security Center C(productState), or null.
      type: int
    product_state_hex:
      description: C(productState) as hex, or null.
      type: str
    instance_guid:
      description: Security Center instance GUID, or null.
      type: str
    path:
      description: Security Center C(pathToSignedProductExe), or null.
      type: str
    found_by:
      description: How it was found. V(security_center), V(service), V(installed_product), V(user_pattern) (one of
        O(av_name_patterns)) or V(defender_status) (C(Get-MpComputerStatus)).
      type: list
      elements: str
      sample: [installed_product, security_center, service]
    registered:
      description: Registered with Security Center (workstations); null on servers.
      type: bool
    service:
      description: The service found for it, or null.
      type: str
    service_state:
      description: That service's state (V(running), V(stopped), ...), or null.
      type: str
    version:
      description: Installed version, or null.
      type: str
third_party_present:
  description: A non-Microsoft antivirus was found.
  returned: success
  type: bool
  sample: true
third_party_active:
  description: A non-Microsoft antivirus has real-time protection on (on workstations, as Security Center
    reports it, which is what Defender sees).
  returned: success
  type: bool
  sample: true
third_party_protecting:
  description: A non-Microsoft antivirus has real-time protection on or its service runs, whether or not
    Security Center knows it.
  returned: success
  type: bool
  sample: true
third_party_names:
  description: Names of the third-party products.
  returned: success
  type: list
  elements: str
active_names:
  description: Names of the third-party products with real-time protection on.
  returned: success
  type: list
  elements: str
security_center:
  description: Windows Security Center.
  returned: success
  type: dict
  contains:
    applicable:
      description: The host is a workstation (Security Center exists).
      type: bool
    available:
      description: C(root\SecurityCenter2) could be read.
      type: bool
    service_running:
      description: The Security Center service (C(wscsvc)) runs.
      type: bool
    error:
      description: Why it could not be read, or null.
      type: str
detection_method:
  description: V(security_center) on workstations, V(services_and_products) on servers.
  returned: success
  type: str
  sample: services_and_products
defender:
  description: Microsoft Defender Antivirus as C(Get-MpComputerStatus) reports it.
  returned: success
  type: dict
  contains:
    installed:
      description: Defender's status could be read.
      type: bool
    mode:
      description: Normalised running mode (V(active), V(passive), V(edr_block), ...).
      type: str
    am_running_mode:
      description: C(AMRunningMode) as reported.
      type: str
    enabled:
      description: Defender runs (not disabled).
      type: bool
    real_time:
      description: Defender is the active antivirus with real-time protection on.
      type: bool
    up_to_date:
      description: Not C(DefenderSignaturesOutOfDate); null when unknown.
      type: bool
    platform_version:
      description: C(AMProductVersion).
      type: str
    signature_version:
      description: C(AntivirusSignatureVersion).
      type: str
    status_error:
      description: Why the status could not be read, or null.
      type: str
os:
  description: C(caption), C(build) and C(kind) (V(workstation), V(server), V(domain_controller)).
  returned: success
  type: dict
reason:
  description: On failure, a stable code (V(invalid_argument), V(host_error)).
  returned: failure
  type: str
"""
