# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# The shared connection and sign-in options of the controller-side API modules
# (mde_machine_info, mde_hunting_query, mde_alert_info, intune_configuration_policy), and the
# attributes they share: all support check mode (a module says in its own check_mode details how).
# The argument spec they document is API_ARGUMENT_SPEC in plugins/module_utils/_api_settings.py;
# tests/unit/plugins/modules/test_api_module_specs.py keeps the two equal.


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  platform:
    platforms: posix
    details: "Runs on the controller (C(delegate_to: localhost))."
  check_mode:
    support: full
options:
  tenant_id:
    description:
      - The Microsoft Entra tenant (directory) id the app registration lives in.
      - If not set, the environment variable E(MDE_TENANT_ID) is used.
    type: str
    required: true
  client_id:
    description:
      - The application (client) id of the app registration.
      - If not set, the environment variable E(MDE_CLIENT_ID) is used.
    type: str
    required: true
  client_secret:
    description:
      - A client secret of the app registration.
      - If not set, the environment variable E(MDE_CLIENT_SECRET) is used.
      - Exactly one of O(client_secret), O(client_certificate_path) and O(client_certificate_key) is required.
    type: str
  client_certificate_path:
    description:
      - Path on the controller to a PEM file with the private key of a certificate registered on the app
        registration (certificate credentials are preferred to secrets).
      - When the file also holds the certificate, its SHA-256 thumbprint is computed and sent; otherwise set
        O(client_certificate_thumbprint).
    type: path
  client_certificate_key:
    description:
      - The PEM text of the certificate's private key (and optionally the certificate), instead of
        O(client_certificate_path), for example from a vault.
    type: str
  client_certificate_thumbprint:
    description:
      - The SHA-1 thumbprint (hex) of the certificate, as the Entra admin center shows it.
      - Needed when the PEM holds only the private key.
    type: str
  client_certificate_passphrase:
    description:
      - The passphrase of an encrypted private key.
    type: str
  cloud:
    description:
      - The Microsoft cloud of the tenant. It selects the sign-in host, the Defender for Endpoint API host and
        the Microsoft Graph host.
      - V(public) - C(login.microsoftonline.com), C(api.security.microsoft.com), C(graph.microsoft.com).
      - V(usgov_gcc) - C(login.microsoftonline.com), C(api-gcc.securitycenter.microsoft.us), C(graph.microsoft.com).
      - V(usgov_gcc_high) - C(login.microsoftonline.us), C(api-gov.securitycenter.microsoft.us), C(graph.microsoft.us).
      - V(usgov_dod) - C(login.microsoftonline.us), C(api-gov.securitycenter.microsoft.us), C(dod-graph.microsoft.us).
    type: str
    choices: [public, usgov_dod, usgov_gcc, usgov_gcc_high]
    default: public
  api_base_url:
    description:
      - Overrides the Defender for Endpoint API base URL of O(cloud), for example the geo host closest to the
        tenant's data (C(https://eu.api.security.microsoft.com), C(https://us.api.security.microsoft.com),
        C(https://uk.api.security.microsoft.com), C(https://au.api.security.microsoft.com)).
      - Must be C(https://).
    type: str
  graph_base_url:
    description:
      - Overrides the Microsoft Graph base URL of O(cloud). Must be C(https://).
    type: str
  authority_host:
    description:
      - Overrides the Microsoft Entra sign-in host of O(cloud) (for example C(https://login.microsoftonline.us)).
        Must be C(https://).
    type: str
  ca_path:
    description:
      - A PEM file of CA certificates to trust in addition to the system store (a TLS-inspecting proxy, a test
        double).
    type: path
  validate_certs:
    description:
      - Verify the TLS certificates of the sign-in, Defender API and Graph hosts.
      - Only turn this off for a lab; the access token travels on these connections.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for one HTTP answer.
    type: int
    default: 30
  max_retries:
    description:
      - How many times one request is retried after a connection error, 408, 429 or a 500/502/503/504 answer.
      - A 429 waits for the C(Retry-After) the service sends (at most 60 seconds), the others back off
        exponentially (1, 2, 4 ... seconds, at most 30). 401 and 403 are never retried.
    type: int
    default: 5
notes:
  - Sign-in is OAuth 2.0 client credentials with the L(msal,https://pypi.org/project/msal/) library; one access
    token per resource is requested per task and reused for every call of that task.
  - "Each module keeps its calls under Microsoft's documented rate limits on its own (it waits rather than
    being throttled), and is written to need a handful of calls per wave, not one per host. Run it once per
    wave (C(run_once: true)), delegated to the controller (C(delegate_to: localhost))."
  - "The options of this group can be set once for all API modules with
    C(module_defaults) for the action group C(group/mdeops.defender.api)."
requirements:
  - msal >= 1.39.0, < 2.0 on the controller (requirements.txt)
"""
