#!powershell

# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._MdeDefender
#AnsibleRequires -PowerShell ..module_utils._MdeOnboarding

# The PowerShell side of mdeops.defender.win_mde_onboarding. The action plugin has read and
# checked the package and decided that something must run; this file only does it:
#   read_package      return the bytes of a package on the host (remote_package)
#   onboard/offboard  install md4ws.msi when asked and missing, run the script unattended,
#                     wait for the onboarding state, return what it observed and the events,
#                     and (read_state) read the whole host as win_mde_info does, in the same
#                     round trip, so that nobody needs to read it again.

# The documented options are the action plugin's (it reads and checks the package on the
# controller). timeout and installer_force_passive mean the same here; the options beginning with _
# are what the action plugin decided: the operation, the package's path on the host (read_package)
# or the script, the installer's path on the host, and the host read to return afterwards.
$spec = @{
    options = @{
        assessment = @{ type = 'dict' }
        wait = @{ type = 'bool'; default = $true }
        state = @{ type = 'str'; choices = 'present', 'absent'; default = 'present' }
        package = @{ type = 'path' }
        remote_package = @{ type = 'str' }
        checksum = @{ type = 'str' }
        expected_org_id = @{ type = 'str' }
        force = @{ type = 'bool'; default = $false }
        timeout = @{ type = 'int'; default = 300 }
        installer = @{ type = 'path' }
        remote_installer = @{ type = 'str' }
        installer_force_passive = @{ type = 'bool'; default = $true }
        av_name_patterns = @{ type = 'list'; elements = 'str'; default = @() }
        support_policy = @{ type = 'str'; choices = 'microsoft', 'guide'; default = 'microsoft' }
        _action = @{ type = 'str'; choices = @('read_package', 'onboard', 'offboard') }
        _path = @{ type = 'str' }
        _max_bytes = @{ type = 'int'; default = 2097152 }
        # The script carries the tenant's onboarding data: whoever has it can onboard devices.
        # no_log keeps it out of the invocation, the Ansible event log entry and messages.
        _script = @{ type = 'str'; no_log = $true }
        _script_name = @{ type = 'str'; default = 'WindowsDefenderATPOnboardingScript.cmd' }
        _installer = @{ type = 'str' }
        _read_state = @{ type = 'dict' }
        _recheck_exit_codes = @{ type = 'list'; elements = 'int'; default = @() }
        _wait = @{ type = 'bool'; default = $true }
        # Services of a third-party antivirus: a server that holds ForceDefenderPassiveMode = 1 (or gets
        # FORCEPASSIVEMODE=1 from the installer) is onboarded only while one still protects it.
        _service_patterns = @{ type = 'list'; elements = 'str'; default = @() }
    }
    required_one_of = @(, @('_action'))
    required_if = @(
        @('_action', 'read_package', @('_path')),
        @('_action', 'onboard', @('_script')),
        @('_action', 'offboard', @('_script'))
    )
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$action = $module.Params._action
$path = $module.Params._path
$maxBytes = $module.Params._max_bytes
$script = $module.Params._script
$scriptName = $module.Params._script_name
$timeout = $module.Params.timeout
$installer = $module.Params._installer
$forcePassive = $module.Params.installer_force_passive
$readState = $module.Params._read_state
$recheckCodes = $module.Params._recheck_exit_codes

# msiexec can take minutes on a slow server; it is never stopped before this.
$installerTimeout = 1800
$installerSuccess = @(0, 1641, 3010)

$module.Result.changed = $false
$module.Result.package = $null
$module.Result.installer = $null
$module.Result.script_run = $null
$module.Result.events = @()
$module.Result.observed = $null
$module.Result.reboot_required = $false
$module.Result.state = $null
$module.Result.protection = $null
$module.Result.refused = $null

if ($action -eq 'read_package') {
    try {
        $module.Result.package = Read-MdePackageFile -Path $path -MaxBytes $maxBytes
    }
    catch {
        $module.FailJson("reading the package '$path': $($_.Exception.Message)", $_)
    }
}
else {
    $wanted = 'present'
    if ($action -eq 'offboard') {
        $wanted = 'absent'
    }
    $proceed = $true
    if ($action -eq 'onboard' -and (Get-MdeOsInfo).product_type -ne 1) {
        # Onboarding makes a server that holds ForceDefenderPassiveMode = 1 passive (and the installer's
        # FORCEPASSIVEMODE=1 at once): re-check, in this run, that real-time protection is still there.
        $reg = Get-MdeRegistryName
        $force = Get-MdeRegistryValue -Path $reg.AtpPolicyKey -Name $reg.PassiveModeValue
        $installPassive = $installer -and $forcePassive -and -not (Test-MdeUnifiedAgent)
        if ($force -eq 1 -or $installPassive) {
            $module.Result.protection = Get-MdeThirdPartyProtection -ServicePattern @($module.Params._service_patterns)
            if (-not $module.Result.protection.protecting) {
                if ($force -eq 1) {
                    $module.Result.refused = 'third_party_av_inactive'
                    $module.Result.observed = Get-MdeOnboardingObservation
                    $module.ExitJson()
                }
                # Nothing else protects this server: the installer leaves Defender active.
                $forcePassive = $false
            }
        }
    }
    if ($installer) {
        $install = @{
            path = $installer
            exists = $true
            already_installed = $false
            ran = $false
            exit_code = $null
            timed_out = $false
            log_path = $null
            force_passive = $forcePassive
        }
        if (Test-MdeUnifiedAgent) {
            $install.already_installed = $true
        }
        elseif (-not (Test-Path -LiteralPath $installer -PathType Leaf)) {
            # Nothing has changed yet: report it and leave the script alone.
            $install.exists = $false
            $proceed = $false
        }
        else {
            if (-not $module.CheckMode) {
                try {
                    $run = Install-MdeUnifiedAgent -Path $installer -ForcePassive:$forcePassive -TimeoutSeconds $installerTimeout
                }
                catch {
                    $module.FailJson("running msiexec for '$installer': $($_.Exception.Message)", $_)
                }
                $install.ran = $true
                $install.exit_code = $run.exit_code
                $install.timed_out = $run.timed_out
                $install.log_path = $run.log_path
                if ($run.exit_code -eq 3010 -or $run.exit_code -eq 1641) {
                    $module.Result.reboot_required = $true
                }
                if ($installerSuccess -notcontains $run.exit_code) {
                    $proceed = $false
                }
            }
            $module.Result.changed = $true
        }
        $module.Result.installer = $install
    }
    if ($proceed) {
        if (-not $module.CheckMode) {
            $start = Get-Date
            try {
                $run = Invoke-MdeOnboardingScript -Script $script -ScriptName $scriptName -TimeoutSeconds $timeout
            }
            catch {
                $module.FailJson("running the $action script '$scriptName': $($_.Exception.Message)", $_)
            }
            $run.waited_s = 0
            $run.wait_timed_out = $false
            # After success, and after an exit code of one of the script's own waits (they end at
            # once without a console), wait for the state within what is left of the timeout: the
            # action plugin judges the host by what it reports.
            $gaveUp = $recheckCodes -contains $run.exit_code
            if ($module.Params._wait -and -not $run.timed_out -and ($run.exit_code -eq 0 -or $gaveUp)) {
                $waitArgs = @{
                    State = $wanted
                    TimeoutSeconds = [Math]::Max(0, $timeout - $run.duration_s)
                    UntilSenseStops = $gaveUp
                }
                $wait = Wait-MdeOnboardingState @waitArgs
                $run.waited_s = $wait.waited_s
                $run.wait_timed_out = -not $wait.reached
            }
            $module.Result.script_run = $run
            $module.Result.events = Get-MdeOnboardingEvent -Since $start
        }
        $module.Result.changed = $true
    }
    $module.Result.observed = Get-MdeOnboardingObservation
    if ($readState -and -not $module.CheckMode) {
        $readArgs = @{
            MpStatusField = $readState['_mp_status_fields']
            ServicePattern = @($readState['_service_patterns'])
            ProductPattern = @($readState['_product_patterns'])
        }
        try {
            $module.Result.state = Get-MdeHostState @readArgs
        }
        catch {
            # The change is done; the caller reads the host again instead.
            $module.Warn("reading the host after the $action script: $($_.Exception.Message)")
        }
    }
}

$module.ExitJson()
