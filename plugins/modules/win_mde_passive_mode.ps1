#!powershell

# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._MdeDefender

# The PowerShell side of mdeops.defender.win_mde_passive_mode: write the documented
# ForceDefenderPassiveMode value (and, when asked, the guide's ForcePassiveMode), then read
# both back. The action plugin decides whether to call it at all (guard, idempotence,
# reboot, tamper protection); this only changes the registry.

# The documented options are the action plugin's (guard, idempotence, reboot); it sends the value
# to write in _value and what to do with the guide's value in _guide_state.
$spec = @{
    options = @{
        assessment = @{ type = 'dict' }
        state = @{ type = 'str'; choices = 'present', 'absent'; default = 'present' }
        guide_value = @{ type = 'bool'; default = $false }
        require_third_party_av = @{ type = 'bool'; default = $true }
        av_name_patterns = @{ type = 'list'; elements = 'str'; default = @() }
        _value = @{ type = 'int'; choices = @(0, 1) }
        _guide_state = @{ type = 'str'; default = 'unmanaged'; choices = @('present', 'absent', 'unmanaged') }
        # Re-check, in this run and just before the write, that a third-party antivirus still provides
        # real-time protection (the services to look at); without it _value = 1 is refused.
        _recheck_protection = @{ type = 'bool'; default = $false }
        _service_patterns = @{ type = 'list'; elements = 'str'; default = @() }
    }
    required_one_of = @(, @('_value'))
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$value = $module.Params._value
$guideState = $module.Params._guide_state

$reg = Get-MdeRegistryName
$atpPolicy = $reg.AtpPolicyKey
$passiveMode = $reg.PassiveModeValue
$defenderPolicy = $reg.DefenderPolicyKey
$guidePassiveMode = $reg.GuidePassiveModeValue

$module.Result.changed = $false
$module.Result.protection = $null
$module.Result.refused = $null
$module.Result.before = @{ force_defender_passive_mode = $null; guide_force_passive_mode = $null }
$module.Result.after = @{ force_defender_passive_mode = $null; guide_force_passive_mode = $null }

Function Get-DwordState {
    <#
    .SYNOPSIS
    Returns the data of a registry value and whether it is a REG_DWORD ($null data when missing).
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param (
        [Parameter(Mandatory = $true)][String]$Path,
        [Parameter(Mandatory = $true)][String]$Name
    )
    $result = @{ data = $null; is_dword = $false }
    $key = Get-Item -LiteralPath $Path -ErrorAction SilentlyContinue
    if ($null -eq $key) {
        return $result
    }
    if ($key.GetValueNames() -notcontains $Name) {
        return $result
    }
    $result.data = $key.GetValue($Name)
    $kind = $key.GetValueKind($Name)
    $result.is_dword = ($kind -eq [Microsoft.Win32.RegistryValueKind]::DWord)
    $result
}

Function Set-DwordValue {
    <#
    .SYNOPSIS
    Writes a REG_DWORD value, creating the key when it is missing.
    #>
    [CmdletBinding()]
    param (
        [Parameter(Mandatory = $true)][String]$Path,
        [Parameter(Mandatory = $true)][String]$Name,
        [Parameter(Mandatory = $true)][Int32]$Data
    )
    if (-not (Test-Path -LiteralPath $Path)) {
        $null = New-Item -Path $Path -Force -ErrorAction Stop
    }
    $null = New-ItemProperty -LiteralPath $Path -Name $Name -Value $Data -PropertyType DWord -Force -ErrorAction Stop
}

$docBefore = Get-DwordState -Path $atpPolicy -Name $passiveMode
$guideBefore = Get-DwordState -Path $defenderPolicy -Name $guidePassiveMode
$module.Result.before.force_defender_passive_mode = $docBefore.data
$module.Result.before.guide_force_passive_mode = $guideBefore.data
$module.Result.after.force_defender_passive_mode = $docBefore.data
$module.Result.after.guide_force_passive_mode = $guideBefore.data

if ($value -eq 1 -and $module.Params._recheck_protection -and ($docBefore.data -ne 1 -or -not $docBefore.is_dword)) {
    # The assessment saw real-time protection; it may have gone off since. Read it again now, in the
    # run that writes: without it the value is not written and nothing else changes either.
    $module.Result.protection = Get-MdeThirdPartyProtection -ServicePattern @($module.Params._service_patterns)
    if (-not $module.Result.protection.protecting) {
        $module.Result.refused = 'third_party_av_inactive'
        $module.ExitJson()
    }
}

if ($docBefore.data -ne $value -or -not $docBefore.is_dword) {
    if (-not $module.CheckMode) {
        try {
            Set-DwordValue -Path $atpPolicy -Name $passiveMode -Data $value
        }
        catch {
            $module.FailJson("setting $passiveMode = $value under $($atpPolicy): $($_.Exception.Message)", $_)
        }
    }
    $module.Result.after.force_defender_passive_mode = $value
    $module.Result.changed = $true
}

if ($guideState -eq 'present' -and ($guideBefore.data -ne 1 -or -not $guideBefore.is_dword)) {
    if (-not $module.CheckMode) {
        try {
            Set-DwordValue -Path $defenderPolicy -Name $guidePassiveMode -Data 1
        }
        catch {
            $module.FailJson("setting the guide's $guidePassiveMode = 1 under $($defenderPolicy): $($_.Exception.Message)", $_)
        }
    }
    $module.Result.after.guide_force_passive_mode = 1
    $module.Result.changed = $true
}
elseif ($guideState -eq 'absent' -and $null -ne $guideBefore.data) {
    if (-not $module.CheckMode) {
        try {
            Remove-ItemProperty -LiteralPath $defenderPolicy -Name $guidePassiveMode -ErrorAction Stop
        }
        catch {
            $module.FailJson("removing the guide's $guidePassiveMode under $($defenderPolicy): $($_.Exception.Message)", $_)
        }
    }
    $module.Result.after.guide_force_passive_mode = $null
    $module.Result.changed = $true
}

if ($module.Result.changed -and -not $module.CheckMode) {
    # Read back what Windows now has: the action plugin reports these, not what it asked for.
    $module.Result.after.force_defender_passive_mode = (Get-DwordState -Path $atpPolicy -Name $passiveMode).data
    $module.Result.after.guide_force_passive_mode = (Get-DwordState -Path $defenderPolicy -Name $guidePassiveMode).data
}

$module.ExitJson()
