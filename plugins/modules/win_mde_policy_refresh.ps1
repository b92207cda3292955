#!powershell

# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._MdeDefender
#AnsibleRequires -PowerShell ..module_utils._MdeGroupPolicy

# The PowerShell side of mdeops.defender.win_mde_policy_refresh: refresh computer policy
# (not in check mode), then return the policy registry values before and after and the RSOP
# report (gpresult /x). The action plugin parses the report and decides. Never reboots.

# expected_value and expected_gpo are the action plugin's (it judges the RSOP report).
$spec = @{
    options = @{
        expected_value = @{ type = 'int'; choices = @(0, 1); default = 1 }
        expected_gpo = @{ type = 'str' }
        timeout = @{ type = 'int'; default = 120 }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$timeout = $module.Params.timeout

$module.Result.changed = $false
$module.Result.refreshed = $false
$module.Result.gpupdate = $null
$module.Result.registry_before = @{}
$module.Result.registry = @{}
$module.Result.gpresult_xml = $null
$module.Result.gpresult_error = $null

try {
    $module.Result.registry_before = Get-MdePolicyValue
}
catch {
    $module.FailJson("reading the policy registry values: $($_.Exception.Message)", $_)
}

if (-not $module.CheckMode) {
    try {
        $module.Result.gpupdate = Invoke-MdeGpUpdate -TimeoutSeconds $timeout
    }
    catch {
        $module.FailJson("running gpupdate /target:computer /force: $($_.Exception.Message)", $_)
    }
    $module.Result.refreshed = $true
}

$module.Result.registry = Get-MdePolicyValue
foreach ($valueName in 'force_defender_passive_mode', 'guide_force_passive_mode', 'disable_antispyware') {
    if ($module.Result.registry_before.$valueName -ne $module.Result.registry.$valueName) {
        $module.Result.changed = $true
    }
}

$report = Get-MdeGpResultXml -Path (Join-Path -Path $module.Tmpdir -ChildPath 'gpresult.xml')
$module.Result.gpresult_xml = $report.xml
$module.Result.gpresult_error = $report.error

$module.ExitJson()
