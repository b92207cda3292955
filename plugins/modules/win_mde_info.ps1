#!powershell

# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._MdeDefender

# The PowerShell side of mdeops.defender.win_mde_info: read everything the diagnosis needs
# in one round trip and return it raw. The action plugin interprets it.

$spec = @{
    options = @{
        mp_status_fields = @{ type = 'list'; elements = 'str'; required = $true }
        service_patterns = @{ type = 'list'; elements = 'str'; default = @() }
        product_patterns = @{ type = 'list'; elements = 'str'; default = @() }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$mpStatusFields = $module.Params.mp_status_fields
$servicePatterns = $module.Params.service_patterns
$productPatterns = $module.Params.product_patterns

$module.Result.changed = $false
$module.Result.os = $null
$module.Result.computer = $null
$module.Result.mp_status = $null
$module.Result.mp_status_error = $null
$module.Result.services = @{}
$module.Result.registry = @{}
$module.Result.security_center = $null
$module.Result.av_services = @()
$module.Result.installed_products = @()
$module.Result.reboot_pending = @{}
$module.Result.unified_agent = $false

try {
    $module.Result.os = Get-MdeOsInfo
    $module.Result.computer = Get-MdeComputerInfo
}
catch {
    $module.FailJson("reading the operating system with CIM: $($_.Exception.Message)", $_)
}

$status = Get-MdeComputerStatus -FieldName $mpStatusFields
$module.Result.mp_status = $status.status
$module.Result.mp_status_error = $status.error

foreach ($name in @('WinDefend', 'Sense', 'WscSvc')) {
    $module.Result.services.$name = Get-MdeServiceInfo -Name $name
}
$module.Result.registry = Get-MdePolicyValue

if ($module.Result.os.product_type -eq 1) {
    $module.Result.security_center = Get-MdeSecurityCenterProduct
}
else {
    $module.Result.security_center = @{ available = $false; error = 'Security Center does not exist on Windows Server'; products = @() }
}
$module.Result.av_services = Get-MdeAvService -Pattern $servicePatterns
$module.Result.installed_products = Get-MdeInstalledProduct -Pattern $productPatterns
$module.Result.reboot_pending = Get-MdePendingReboot
$module.Result.unified_agent = Test-MdeUnifiedAgent

$module.ExitJson()
