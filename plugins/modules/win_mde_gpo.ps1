#!powershell

# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._MdeGroupPolicy

# The PowerShell side of mdeops.defender.win_mde_gpo. Runs on a host with the GroupPolicy
# module (a domain controller or a management server). It performs the changes the action
# plugin planned (none on the first call, never in check mode), then reads the GPO back:
# the managed values, its links and what the target OUs inherit. The action plugin decides.

# The documented options are the action plugin's (it plans the changes); it sends what to read
# (_preference_values, _policy_values, _conflict_values: key and value_name each; security_group: its
# members and permissions) and the planned changes (_changes: op and the fields of that operation, see
# Invoke-MdeGpoChange).
$spec = @{
    options = @{
        name = @{ type = 'str'; required = $true }
        comment = @{ type = 'str' }
        state = @{ type = 'str'; choices = 'present', 'absent'; default = 'present' }
        target_ous = @{ type = 'list'; elements = 'str'; default = @() }
        link_enabled = @{ type = 'bool'; default = $true }
        enforced = @{ type = 'bool'; default = $false }
        purge_links = @{ type = 'bool'; default = $false }
        passive_mode_value = @{ type = 'int'; choices = @(0, 1); default = 1 }
        ensure_defender_not_turned_off = @{ type = 'bool'; default = $true }
        guide_turn_off_defender = @{ type = 'bool'; default = $false }
        guide_value = @{ type = 'bool'; default = $false }
        _preference_values = @{ type = 'list'; elements = 'dict'; default = @() }
        _policy_values = @{ type = 'list'; elements = 'dict'; default = @() }
        _conflict_values = @{ type = 'list'; elements = 'dict'; default = @() }
        security_group = @{ type = 'str' }
        members = @{ type = 'list'; elements = 'str' }
        member_state = @{ type = 'str'; choices = 'present', 'absent'; default = 'present' }
        _changes = @{ type = 'list'; elements = 'dict'; default = @() }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$name = $module.Params.name
$targetOus = $module.Params.target_ous
$preferenceValues = $module.Params._preference_values
$policyValues = $module.Params._policy_values
$conflictValues = $module.Params._conflict_values
$changes = $module.Params._changes
$securityGroup = $module.Params.security_group

$module.Result.changed = $false
$module.Result.group_policy_module = $false
$module.Result.domain = $null
$module.Result.gpo = $null
$module.Result.preferences = @()
$module.Result.policies = @()
$module.Result.links = @()
$module.Result.targets = @()
$module.Result.conflicts = @()
$module.Result.security = $null

$module.Result.group_policy_module = Test-MdeGroupPolicyModule
if (-not $module.Result.group_policy_module -and $changes.Count -gt 0) {
    $module.FailJson("the GroupPolicy PowerShell module is not available on this host (Get-Command New-GPO failed): run on a domain controller or a server with the Group Policy Management feature (RSAT)")
}

if ($module.Result.group_policy_module) {
    $module.Result.domain = Get-MdeDomainName

    foreach ($change in $changes) {
        try {
            if (-not $module.CheckMode) {
                Invoke-MdeGpoChange -Name $name -Change $change
            }
        }
        catch {
            $module.FailJson("changing GPO '$name' ($($change.op)) failed: $($_.Exception.Message)", $_)
        }
        $module.Result.changed = $true
    }

    try {
        $gpo = Get-MdeGpo -Name $name
        $module.Result.gpo = $gpo
        if ($null -ne $gpo) {
            # Get-MdeGpoValue returns its list as one object: enumerate each list.
            $module.Result.preferences = @(foreach ($v in $preferenceValues) {
                    foreach ($item in (Get-MdeGpoValue -GpoId $gpo.id -Key $v.key -ValueName $v.value_name -Preference)) { $item }
                })
            $module.Result.policies = @(foreach ($v in $policyValues) {
                    foreach ($item in (Get-MdeGpoValue -GpoId $gpo.id -Key $v.key -ValueName $v.value_name)) { $item }
                })
            $module.Result.links = Get-MdeGpoLinkedSom -GpoId $gpo.id
        }
        $module.Result.targets = @(foreach ($ou in $targetOus) { Get-MdeGpoTarget -Target $ou })
        if ($securityGroup) {
            if ($null -eq (Get-Command -Name Get-ADGroup -ErrorAction SilentlyContinue)) {
                $module.FailJson("security_group needs the ActiveDirectory PowerShell module (Get-ADGroup), which is not available on this host: run on a domain controller or a server with the AD DS tools (RSAT)")
            }
            $module.Result.security = Get-MdeGpoSecurity -Name $name -Group $securityGroup -GpoExists ($null -ne $gpo)
        }
        $ownId = if ($null -ne $gpo) { $gpo.id } else { '' }
        $module.Result.conflicts = Get-MdeGpoConflict -Target $module.Result.targets -Value $conflictValues -ExcludeGpoId $ownId
    }
    catch {
        $module.FailJson("reading GPO '$name': $($_.Exception.Message)", $_)
    }
}

$module.ExitJson()
