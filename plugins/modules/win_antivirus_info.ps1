#!powershell

# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._MdeDefender

# The PowerShell side of mdeops.defender.win_antivirus_info: read, in one round trip, what
# tells which antivirus products protect the host. Workstations: Security Center
# (root\SecurityCenter2). Servers have none: services and installed-product entries that
# match the patterns the action plugin sends. Defender's own status comes from
# Get-MpComputerStatus. Everything is returned raw; the action plugin decodes it.

# The documented options are the action plugin's; the options beginning with _ (added by
# Add-MdeHostReadOption) are what it asks this side to read.
$spec = @{
    options = @{
        av_name_patterns = @{ type = 'list'; elements = 'str'; default = @() }
        include_microsoft = @{ type = 'bool'; default = $true }
    }
    supports_check_mode = $true
}
Add-MdeHostReadOption -Spec $spec

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)

$module.Result.changed = $false
$module.Result.os = $null
$module.Result.services = @{}
$module.Result.security_center = $null
$module.Result.av_services = @()
$module.Result.installed_products = @()
$module.Result.mp_status = $null
$module.Result.mp_status_error = $null

try {
    $module.Result.os = Get-MdeOsInfo
}
catch {
    $module.FailJson("reading the operating system with CIM: $($_.Exception.Message)", $_)
}

$module.Result.services.WscSvc = Get-MdeServiceInfo -Name 'WscSvc'

if ($module.Result.os.product_type -eq 1) {
    $module.Result.security_center = Get-MdeSecurityCenterProduct
}
else {
    $module.Result.security_center = @{ available = $false; error = 'Security Center does not exist on Windows Server'; products = @() }
}
$module.Result.av_services = Get-MdeAvService -Pattern $module.Params._service_patterns
$module.Result.installed_products = Get-MdeInstalledProduct -Pattern $module.Params._product_patterns

$status = Get-MdeComputerStatus -FieldName $module.Params._mp_status_fields
$module.Result.mp_status = $status.status
$module.Result.mp_status_error = $status.error

$module.ExitJson()
