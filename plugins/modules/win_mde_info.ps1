#!powershell

# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._MdeDefender

# The PowerShell side of mdeops.defender.win_mde_info: read everything the diagnosis needs
# in one round trip and return it raw. The action plugin interprets it.

# The documented options are the action plugin's (it diagnoses); the options beginning with _ (added
# by Add-MdeHostReadOption) are what it asks this side to read.
$spec = @{
    options = @{
        wait_for = @{ type = 'str'; choices = 'none', 'passive', 'active_by_design', 'onboarded', 'offboarded', 'protected'; default = 'none' }
        wait_timeout = @{ type = 'int'; default = 300 }
        wait_interval = @{ type = 'int'; default = 10 }
        host_read = @{ type = 'dict' }
        rollout = @{
            type = 'dict'
            options = @{
                require_third_party_av = @{ type = 'bool'; default = $false }
                passive_method = @{ type = 'str'; choices = 'registry', 'group_policy', 'none'; default = 'registry' }
                force_passive_on_clients = @{ type = 'bool'; default = $false }
                installer_available = @{ type = 'bool'; default = $false }
                confirm_edr = @{ type = 'bool'; default = $false }
            }
        }
        offboard = @{
            type = 'dict'
            options = @{
                allow_reboot = @{ type = 'bool'; default = $false }
            }
        }
        expected_org_id = @{ type = 'str' }
        support_policy = @{ type = 'str'; choices = 'microsoft', 'guide'; default = 'microsoft' }
        av_name_patterns = @{ type = 'list'; elements = 'str'; default = @() }
    }
    supports_check_mode = $true
}
Add-MdeHostReadOption -Spec $spec

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)

$module.Result.changed = $false

# The same read as win_mde_onboarding makes after a change (Get-MdeHostState in _MdeDefender).
$readArgs = @{
    MpStatusField = $module.Params._mp_status_fields
    ServicePattern = $module.Params._service_patterns
    ProductPattern = $module.Params._product_patterns
}
try {
    $state = Get-MdeHostState @readArgs
}
catch {
    $module.FailJson("reading the host (CIM, registry, services): $($_.Exception.Message)", $_)
}
$module.Result.os = $state.os
$module.Result.computer = $state.computer
$module.Result.mp_status = $state.mp_status
$module.Result.mp_status_error = $state.mp_status_error
$module.Result.services = $state.services
$module.Result.registry = $state.registry
$module.Result.security_center = $state.security_center
$module.Result.av_services = $state.av_services
$module.Result.installed_products = $state.installed_products
$module.Result.reboot_pending = $state.reboot_pending
$module.Result.unified_agent = $state.unified_agent

$module.ExitJson()
