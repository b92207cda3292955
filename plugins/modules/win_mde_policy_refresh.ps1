#!powershell

# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._MdeDefender
#AnsibleRequires -PowerShell ..module_utils._MdeGroupPolicy

# The PowerShell side of mdeops.defender.win_mde_policy_refresh: refresh computer policy
# (not in check mode), then return the policy registry values before and after and the RSOP
# report (gpresult /x). The action plugin parses the report and decides. Never reboots.

# expected_value, expected_gpo, gpo and the wait are the action plugin's (it judges the RSOP report and
# polls). It sends _gpo_id/_gpo_version (refresh only once the member's domain controller has that
# version of the GPO and, with _group, this computer's membership as _member says) and _purge_tickets
# (the GPO is filtered on a computer group).
$spec = @{
    options = @{
        expected_value = @{ type = 'int'; choices = @(0, 1); default = 1 }
        expected_gpo = @{ type = 'str' }
        timeout = @{ type = 'int'; default = 120 }
        gpo = @{ type = 'dict' }
        wait_timeout = @{ type = 'int'; default = 0 }
        wait_interval = @{ type = 'int'; default = 15 }
        _gpo_id = @{ type = 'str' }
        _gpo_version = @{ type = 'int' }
        _purge_tickets = @{ type = 'bool'; default = $false }
        _group = @{ type = 'str' }
        _group_members = @{ type = 'list'; elements = 'str' }
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
$module.Result.directory = $null
$module.Result.klist = $null

if ($module.Params._gpo_id) {
    try {
        $module.Result.directory = Get-MdeGpoDirectoryVersion -GpoId $module.Params._gpo_id
    }
    catch {
        $module.FailJson("reading GPO $($module.Params._gpo_id) on this computer's domain controller: $($_.Exception.Message)", $_)
    }
    $directory = $module.Result.directory
    $inGroup = $null
    if ($module.Params._group) {
        try {
            $groups = Get-MdeComputerGroup
        }
        catch {
            $module.FailJson("reading this computer's groups on its domain controller: $($_.Exception.Message)", $_)
        }
        $inGroup = $false
        foreach ($dn in $groups) {
            if ($dn -like "CN=$($module.Params._group),*") {
                $inGroup = $true
            }
        }
        $account = '{0}$' -f (Get-CimInstance -ClassName Win32_ComputerSystem -Property Name).Name
        $directory.member = $inGroup
        $directory.member_expected = @($module.Params._group_members) -contains $account
        $directory.groups = $groups
    }
    $waiting = (-not $directory.found) -or ($directory.version -lt $module.Params._gpo_version)
    if ($null -ne $inGroup -and $inGroup -ne $directory.member_expected) {
        $waiting = $true
    }
    if ($waiting) {
        # Not there yet: nothing is refreshed; the action plugin asks again.
        $module.ExitJson()
    }
}

try {
    $module.Result.registry_before = Get-MdePolicyValue
}
catch {
    $module.FailJson("reading the policy registry values: $($_.Exception.Message)", $_)
}

if (-not $module.CheckMode) {
    try {
        if ($module.Params._purge_tickets) {
            $module.Result.klist = Clear-MdeComputerTicket
        }
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
