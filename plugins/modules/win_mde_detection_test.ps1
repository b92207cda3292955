#!powershell

# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils._MdeDefender

# The PowerShell side of mdeops.defender.win_mde_detection_test: start Microsoft's documented
# detection test (defender-endpoint/run-detection-test.md) and report when it ran. The test
# downloads nothing (nothing listens on 127.0.0.1) and starts nothing; its command line is what
# Defender for Endpoint detects. The action plugin interprets the result.

$spec = @{
    options = @{
        directory = @{ type = 'str'; default = 'C:\test-MDATP-test' }
        stop_after = @{ type = 'int'; default = 10 }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$directory = $module.Params.directory
$stopAfter = $module.Params.stop_after

$module.Result.changed = $false
$module.Result.ran = $false
$module.Result.ran_at_utc = $null
$module.Result.process_id = $null
$module.Result.command_line = $null
$module.Result.directory_created = $false
$module.Result.process_stopped = $false
$module.Result.directory_removed = $false
$module.Result.onboarding_state = $null
$module.Result.sense_status = $null

$reg = Get-MdeRegistryName
$onboardingState = Get-MdeRegistryValue -Path $reg.AtpStatusKey -Name $reg.OnboardingStateValue
if ($null -ne $onboardingState) {
    $module.Result.onboarding_state = [int]$onboardingState
}
$sense = Get-Service -Name 'Sense' -ErrorAction SilentlyContinue
if ($null -ne $sense) {
    $module.Result.sense_status = [string]$sense.Status
}

# The documented command, with the documented doubled backslashes in the target path.
$target = ($directory.TrimEnd('\') + '\invoice.exe').Replace('\', '\\')
# The path goes into single-quoted strings: PowerShell ends one at ' and also at the typographic quotes
# U+2018, U+2019, U+201A and U+201B, and reads any of them doubled as one literal character.
$target = $target -replace "['\u2018\u2019\u201A\u201B]", '$0$0'
$testCommand = "`$ErrorActionPreference = 'silentlycontinue';(New-Object System.Net.WebClient).DownloadFile('http://127.0.0.1/1.exe', '$target');Start-Process '$target'"
$argumentList = "-NoExit -ExecutionPolicy Bypass -WindowStyle Hidden $testCommand"
$module.Result.command_line = "powershell.exe $argumentList"
$module.Result.changed = $true

if (-not $module.CheckMode) {
    if (-not (Test-Path -LiteralPath $directory)) {
        try {
            New-Item -Path $directory -ItemType Directory -Force | Out-Null
        }
        catch {
            $module.FailJson("creating the test directory '$directory': $($_.Exception.Message)", $_)
        }
        $module.Result.directory_created = $true
    }
    $module.Result.ran_at_utc = [DateTime]::UtcNow.ToString('o')
    try {
        $process = Start-Process -FilePath 'powershell.exe' -ArgumentList $argumentList -WindowStyle Hidden -PassThru
    }
    catch {
        $module.FailJson("starting the detection test: $($_.Exception.Message)", $_)
    }
    $module.Result.ran = $true
    $module.Result.process_id = $process.Id
    if ($stopAfter -gt 0) {
        # -NoExit keeps the hidden PowerShell open; stop it once Defender has seen it start.
        $null = $process.WaitForExit($stopAfter * 1000)
        if (-not $process.HasExited) {
            Stop-Process -Id $process.Id -Force -ErrorAction SilentlyContinue
            $module.Result.process_stopped = $true
        }
        if ($module.Result.directory_created) {
            $left = Get-ChildItem -LiteralPath $directory -Force -ErrorAction SilentlyContinue
            if ($null -eq $left) {
                Remove-Item -LiteralPath $directory -Force -ErrorAction SilentlyContinue
                $module.Result.directory_removed = -not (Test-Path -LiteralPath $directory)
            }
        }
    }
}

$module.ExitJson()
