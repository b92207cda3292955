# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE to the mdeops.defender collection: these functions may change in any release.
# Helpers of win_mde_onboarding.ps1: read a package, run the onboarding/offboarding script and
# md4ws.msi unattended, wait for the onboarding state, read the script's events. They return
# plain hashtables, throw on unexpected errors and never call FailJson.
# They use Get-MdeRegistryValue, Get-MdeServiceInfo and Test-MdeUnifiedAgent from
# _MdeDefender.psm1, which every module using this file also requires.

Function Read-MdePackageFile {
    <#
    .SYNOPSIS
    Returns the bytes of a package file on the host as base64.

    .DESCRIPTION
    Used for remote_package: the action plugin checks the package on the controller before
    anything runs. A missing or unreadable file is reported (exists = $false, error), a file
    larger than MaxBytes is reported with too_large and no data.

    .PARAMETER Path
    The local or UNC path of the package (zip or .cmd).

    .PARAMETER MaxBytes
    The largest file that is read.
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param (
        [Parameter(Mandatory = $true)][String]$Path,
        [Parameter(Mandatory = $true)][Int64]$MaxBytes
    )
    $result = @{ path = $Path; exists = $false; size = $null; too_large = $false; data = $null; error = $null }
    try {
        $item = Get-Item -LiteralPath $Path -Force -ErrorAction Stop
        if ($item.PSIsContainer) {
            $result.error = 'the path is a directory'
            return $result
        }
        $result.size = [Int64]$item.Length
        if ($item.Length -gt $MaxBytes) {
            $result.exists = $true
            $result.too_large = $true
            return $result
        }
        $bytes = [System.IO.File]::ReadAllBytes($item.FullName)
    }
    catch {
        $result.error = $_.Exception.Message
        return $result
    }
    $result.exists = $true
    $result.data = [System.Convert]::ToBase64String($bytes)
    $result
}

Function Stop-MdeProcessTree {
    <#
    .SYNOPSIS
    Stops a process and every process it started (children first).

    .PARAMETER ProcessId
    The id of the root process.
    #>
    [CmdletBinding()]
    param (
        [Parameter(Mandatory = $true)][Int32]$ProcessId
    )
    $children = @(Get-CimInstance -ClassName Win32_Process -Filter "ParentProcessId = $ProcessId" -ErrorAction SilentlyContinue)
    foreach ($child in $children) {
        Stop-MdeProcessTree -ProcessId ([Int32]$child.ProcessId)
    }
    Stop-Process -Id $ProcessId -Force -ErrorAction SilentlyContinue
}

Function Invoke-MdeProcess {
    <#
    .SYNOPSIS
    Runs a program unattended: in a console of its own without a window, for a bounded time.

    .DESCRIPTION
    No stream is redirected, so the program gets a new console that has no window (as a Group
    Policy startup script does): the onboarding scripts' own waits ('timeout /t n') wait as they
    were written to. With a redirected standard input they would exit at once ("Input
    redirection is not supported") and the script would give up before Sense is ready. Nothing
    reads the program's output: the scripts log to the event log, and their output could echo
    the onboarding data. After TimeoutSeconds the process tree is stopped and timed_out is set
    (a 'pause' nobody answers ends so).

    .PARAMETER FilePath
    The program to run.

    .PARAMETER ArgumentList
    Its command line arguments, already quoted.

    .PARAMETER TimeoutSeconds
    How long to wait for it.
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param (
        [Parameter(Mandatory = $true)][String]$FilePath,
        [Parameter(Mandatory = $true)][String]$ArgumentList,
        [Parameter(Mandatory = $true)][Int32]$TimeoutSeconds
    )
    $psi = New-Object -TypeName System.Diagnostics.ProcessStartInfo
    $psi.FileName = $FilePath
    $psi.Arguments = $ArgumentList
    $psi.UseShellExecute = $false
    $psi.CreateNoWindow = $true
    $psi.WorkingDirectory = [System.Environment]::SystemDirectory
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    $process = [System.Diagnostics.Process]::Start($psi)
    try {
        $exited = $process.WaitForExit([Math]::Max(1, $TimeoutSeconds) * 1000)
        if (-not $exited) {
            Stop-MdeProcessTree -ProcessId $process.Id
            $null = $process.WaitForExit(10000)
        }
        $exitCode = $null
        if ($exited) {
            $exitCode = $process.ExitCode
        }
        @{
            ran = $true
            exit_code = $exitCode
            timed_out = -not $exited
            duration_s = [Math]::Round($watch.Elapsed.TotalSeconds, 1)
        }
    }
    finally {
        $process.Dispose()
    }
}

Function Invoke-MdeOnboardingScript {
    <#
    .SYNOPSIS
    Runs an onboarding or offboarding .cmd script the way Group Policy does: unattended, elevated.

    .DESCRIPTION
    The script is written to a new directory under the connection user's temporary directory
    (private to that user, SYSTEM and administrators), run with cmd.exe /d /c in a console
    without a window (Invoke-MdeProcess), and deleted afterwards whatever happens. It runs as
    the connection user, whose WinRM token is elevated (WinRM only admits administrators by
    default).

    .PARAMETER Script
    The text of the script.

    .PARAMETER ScriptName
    The file name to give it (the name in the portal's package).

    .PARAMETER TimeoutSeconds
    How long to wait for the script before stopping it.
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param (
        [Parameter(Mandatory = $true)][String]$Script,
        [Parameter(Mandatory = $true)][String]$ScriptName,
        [Parameter(Mandatory = $true)][Int32]$TimeoutSeconds
    )
    $name = [System.IO.Path]::GetFileName($ScriptName)
    if (-not $name.EndsWith('.cmd', [System.StringComparison]::OrdinalIgnoreCase)) {
        $name = $name + '.cmd'
    }
    $dir = Join-Path -Path ([System.IO.Path]::GetTempPath()) -ChildPath ('mde-onboarding-' + [Guid]::NewGuid().ToString('N'))
    $null = New-Item -Path $dir -ItemType Directory -Force
    try {
        $path = Join-Path -Path $dir -ChildPath $name
        # cmd.exe does not understand a byte order mark: UTF-8 without one (the portal's scripts are ASCII).
        $encoding = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false
        [System.IO.File]::WriteAllText($path, $Script, $encoding)
        $cmd = Join-Path -Path ([System.Environment]::SystemDirectory) -ChildPath 'cmd.exe'
        Invoke-MdeProcess -FilePath $cmd -ArgumentList ('/d /c ""{0}""' -f $path) -TimeoutSeconds $TimeoutSeconds
    }
    finally {
        Remove-Item -LiteralPath $dir -Recurse -Force -ErrorAction SilentlyContinue
    }
}

Function Install-MdeUnifiedAgent {
    <#
    .SYNOPSIS
    Installs the modern unified solution (md4ws.msi) silently, without restarting.

    .DESCRIPTION
    msiexec /i <package> /quiet /norestart /l*v <log>, plus FORCEPASSIVEMODE=1 when asked
    (Server 2012 R2/2016: Defender Antivirus starts in passive mode). The caller checks first
    that it is not installed yet (Test-MdeUnifiedAgent). The verbose log stays in the connection
    user's temporary directory for troubleshooting.

    .PARAMETER Path
    The path of md4ws.msi on the host.

    .PARAMETER ForcePassive
    Add FORCEPASSIVEMODE=1.

    .PARAMETER TimeoutSeconds
    How long to wait for msiexec.
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param (
        [Parameter(Mandatory = $true)][String]$Path,
        [Switch]$ForcePassive,
        [Parameter(Mandatory = $true)][Int32]$TimeoutSeconds
    )
    $log = Join-Path -Path ([System.IO.Path]::GetTempPath()) -ChildPath ('md4ws-install-{0}.log' -f (Get-Date -Format 'yyyyMMddHHmmss'))
    $arguments = '/i "{0}" /quiet /norestart /l*v "{1}"' -f $Path, $log
    if ($ForcePassive) {
        $arguments = $arguments + ' FORCEPASSIVEMODE=1'
    }
    $msiexec = Join-Path -Path ([System.Environment]::SystemDirectory) -ChildPath 'msiexec.exe'
    $run = Invoke-MdeProcess -FilePath $msiexec -ArgumentList $arguments -TimeoutSeconds $TimeoutSeconds
    $run.log_path = $log
    $run
}

Function Get-MdeOnboardingObservation {
    <#
    .SYNOPSIS
    Returns the onboarding state of the host: OnboardingState, the org id, the Sense service.
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param ()
    $policy = Get-MdePolicyValue
    @{
        onboarding_state = $policy.onboarding_state
        status_org_id = $policy.status_org_id
        org_id = $policy.onboarding_org_id
        sense = Get-MdeServiceInfo -Name 'Sense'
    }
}

Function Wait-MdeOnboardingState {
    <#
    .SYNOPSIS
    Waits until the host is onboarded (present) or offboarded (absent), or the time is up.

    .DESCRIPTION
    present: OnboardingState = 1 and Sense running. absent: OnboardingState is not 1 and Sense
    is not running. Returns reached, waited_s and the last observation.

    .PARAMETER State
    present or absent.

    .PARAMETER TimeoutSeconds
    The longest wait.

    .PARAMETER UntilSenseStops
    For present: give up as soon as Sense is missing or stopped (not start-pending): it will not
    start by itself (used after the script gave up waiting, where its own start may have failed).

    .PARAMETER IntervalSeconds
    The pause between two reads.
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param (
        [Parameter(Mandatory = $true)][ValidateSet('present', 'absent')][String]$State,
        [Parameter(Mandatory = $true)][Double]$TimeoutSeconds,
        [Switch]$UntilSenseStops,
        [Int32]$IntervalSeconds = 2
    )
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    while ($true) {
        $observed = Get-MdeOnboardingObservation
        $running = $observed.sense.exists -and $observed.sense.state -eq 'Running'
        $onboarded = $observed.onboarding_state -eq 1
        $idle = $false
        if ($State -eq 'present') {
            $reached = $onboarded -and $running
            $idle = $UntilSenseStops -and ((-not $observed.sense.exists) -or $observed.sense.state -eq 'Stopped')
        }
        else {
            $reached = (-not $onboarded) -and (-not $running)
        }
        $elapsed = $watch.Elapsed.TotalSeconds
        if ($reached -or $idle -or $elapsed -ge $TimeoutSeconds) {
            return @{ reached = $reached; waited_s = [Math]::Round($elapsed, 1); observed = $observed }
        }
        Start-Sleep -Seconds ([Math]::Max(1, [Math]::Min($IntervalSeconds, [Math]::Ceiling($TimeoutSeconds - $elapsed))))
    }
}

Function Get-MdeOnboardingEvent {
    <#
    .SYNOPSIS
    Returns the WDATPOnboarding and WDATPOffboarding events of the Application log since a time.

    .PARAMETER Since
    Only events written at or after this time.
    #>
    [CmdletBinding()]
    [OutputType([Object[]])]
    param (
        [Parameter(Mandatory = $true)][DateTime]$Since
    )
    # One query per source: Get-WinEvent fails a whole query when one of its providers is not
    # registered, and WDATPOffboarding does not exist before the first offboarding. A source that
    # is not registered, or has no event since $Since, gives no event and nothing in the error stream.
    $found = foreach ($source in @('WDATPOnboarding', 'WDATPOffboarding')) {
        $filter = @{ LogName = 'Application'; ProviderName = $source; StartTime = $Since }
        foreach ($item in @(Get-WinEvent -FilterHashtable $filter -ErrorAction SilentlyContinue)) {
            @{
                source = $item.ProviderName
                id = [Int32]$item.Id
                level = $item.LevelDisplayName
                message = $item.Message
                time = $item.TimeCreated.ToUniversalTime().ToString('o')
            }
        }
    }
    , @($found)
}

$exportMembers = @{
    Function = 'Read-MdePackageFile', 'Stop-MdeProcessTree', 'Invoke-MdeProcess', 'Invoke-MdeOnboardingScript',
    'Install-MdeUnifiedAgent', 'Get-MdeOnboardingObservation',
    'Wait-MdeOnboardingState', 'Get-MdeOnboardingEvent'
}
Export-ModuleMember @exportMembers
