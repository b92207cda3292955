# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE to the mdeops.defender collection: these functions may change in any release.
# They read Windows and return plain hashtables; they never call FailJson and never
# interpret what they read (the Python action plugins do that).

Function Get-MdeRegistryName {
    <#
    .SYNOPSIS
    The registry keys and value names the collection reads or writes: each is defined here once.

    .DESCRIPTION
    docs/sources.md: ForceDefenderPassiveMode §1.2, the source guide's ForcePassiveMode §1.3,
    Status\OnboardingState §3.3, OnboardingInfo and Status\OrgId §3.4, DisableAntiSpyware and
    DisableRealtimeMonitoring §5.1. The others are Windows' own
    (the OS edition and update revision, installed programs, pending reboot markers).
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param ()
    @{
        AtpPolicyKey = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection'
        AtpStatusKey = 'HKLM:\SOFTWARE\Microsoft\Windows Advanced Threat Protection\Status'
        DefenderPolicyKey = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows Defender'
        RealTimeProtectionPolicyKey = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows Defender\Real-Time Protection'
        PassiveModeValue = 'ForceDefenderPassiveMode'
        GuidePassiveModeValue = 'ForcePassiveMode'
        DisableAntiSpywareValue = 'DisableAntiSpyware'
        DisableRealtimeMonitoringValue = 'DisableRealtimeMonitoring'
        OnboardingInfoValue = 'OnboardingInfo'
        OnboardingStateValue = 'OnboardingState'
        OrgIdValue = 'OrgId'
        CurrentVersionKey = 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
        EditionIdValue = 'EditionID'
        UbrValue = 'UBR'
        UninstallKeys = @(
            'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall',
            'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall'
        )
        SessionManagerKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager'
        PendingFileRenameValue = 'PendingFileRenameOperations'
        CbsRebootPendingKey = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending'
        WuRebootRequiredKey = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired'
    }
}

Function Get-MdeRegistryValue {
    <#
    .SYNOPSIS
    Returns the data of a registry value, or $null when the key or the value is missing.
    #>
    [CmdletBinding()]
    [OutputType([Object])]
    param (
        [Parameter(Mandatory = $true)][String]$Path,
        [Parameter(Mandatory = $true)][String]$Name
    )
    $item = Get-ItemProperty -LiteralPath $Path -Name $Name -ErrorAction SilentlyContinue
    if ($null -eq $item) {
        return $null
    }
    return $item.$Name
}

Function Get-MdeOsInfo {
    <#
    .SYNOPSIS
    Returns the operating system facts the collection needs.
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param ()
    $os = Get-CimInstance -ClassName Win32_OperatingSystem -Property Caption, Version, BuildNumber, ProductType, LastBootUpTime
    $reg = Get-MdeRegistryName
    @{
        caption = $os.Caption
        version = $os.Version
        build_number = $os.BuildNumber
        product_type = [int]$os.ProductType
        edition_id = Get-MdeRegistryValue -Path $reg.CurrentVersionKey -Name $reg.EditionIdValue
        ubr = Get-MdeRegistryValue -Path $reg.CurrentVersionKey -Name $reg.UbrValue
        last_boot_filetime = $os.LastBootUpTime.ToFileTime()
    }
}

Function Get-MdeComputerInfo {
    <#
    .SYNOPSIS
    Returns the host name and domain membership.
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param ()
    $cs = Get-CimInstance -ClassName Win32_ComputerSystem -Property DNSHostName, Domain, PartOfDomain
    @{
        dns_hostname = $cs.DNSHostName
        domain = $cs.Domain
        part_of_domain = [bool]$cs.PartOfDomain
        # The machine's own id (written once by Setup): two inventory names of one machine share it.
        machine_guid = Get-MdeRegistryValue -Path 'HKLM:\SOFTWARE\Microsoft\Cryptography' -Name 'MachineGuid'
    }
}

Function Get-MdeComputerStatus {
    <#
    .SYNOPSIS
    Returns the Get-MpComputerStatus properties listed in FieldName, and the error if it fails.
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param (
        [Parameter(Mandatory = $true)][String[]]$FieldName
    )
    $result = @{ status = $null; error = $null }
    if (-not (Get-Command -Name Get-MpComputerStatus -ErrorAction SilentlyContinue)) {
        $result.error = 'Get-MpComputerStatus is not available on this host'
        return $result
    }
    try {
        $mp = Get-MpComputerStatus -ErrorAction Stop
    }
    catch {
        $result.error = "Get-MpComputerStatus failed: $($_.Exception.Message)"
        return $result
    }
    $status = @{}
    foreach ($field in $FieldName) {
        $value = $mp.$field
        if ($value -is [DateTime]) {
            $value = $value.ToUniversalTime().ToString('o')
        }
        $status.$field = $value
    }
    $result.status = $status
    $result
}

Function Get-MdeServiceInfo {
    <#
    .SYNOPSIS
    Returns whether a service exists, its state and its start mode.
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param (
        [Parameter(Mandatory = $true)][String]$Name
    )
    $service = Get-CimInstance -ClassName Win32_Service -Filter "Name='$Name'" -Property Name, State, StartMode
    if ($null -eq $service) {
        return @{ exists = $false; state = $null; start_mode = $null }
    }
    @{
        exists = $true
        state = $service.State
        start_mode = $service.StartMode
    }
}

Function Get-MdeSecurityCenterProduct {
    <#
    .SYNOPSIS
    Returns the antivirus products registered with Windows Security Center (clients only).
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param ()
    $result = @{ available = $false; error = $null; products = @() }
    try {
        $items = Get-CimInstance -Namespace 'root\SecurityCenter2' -ClassName AntiVirusProduct -ErrorAction Stop
    }
    catch {
        $result.error = $_.Exception.Message
        return $result
    }
    $result.available = $true
    $result.products = @(
        foreach ($item in $items) {
            @{
                displayName = $item.displayName
                productState = [int64]$item.productState
                instanceGuid = $item.instanceGuid
                pathToSignedProductExe = $item.pathToSignedProductExe
            }
        }
    )
    $result
}

Function Get-MdeAvService {
    <#
    .SYNOPSIS
    Returns the services whose name or display name matches one of the wildcard patterns.
    #>
    [CmdletBinding()]
    [OutputType([Object[]])]
    param (
        [Parameter(Mandatory = $true)][AllowEmptyCollection()][String[]]$Pattern
    )
    if ($Pattern.Count -eq 0) {
        return , @()
    }
    $found = foreach ($service in (Get-CimInstance -ClassName Win32_Service -Property Name, DisplayName, State)) {
        foreach ($p in $Pattern) {
            if ($service.Name -like $p -or $service.DisplayName -like $p) {
                @{
                    name = $service.Name
                    display_name = $service.DisplayName
                    state = $service.State
                }
                break
            }
        }
    }
    , @($found)
}

Function Get-MdeInstalledProduct {
    <#
    .SYNOPSIS
    Returns the installed programs (Uninstall registry entries) whose DisplayName matches a pattern.
    #>
    [CmdletBinding()]
    [OutputType([Object[]])]
    param (
        [Parameter(Mandatory = $true)][AllowEmptyCollection()][String[]]$Pattern
    )
    if ($Pattern.Count -eq 0) {
        return , @()
    }
    $found = foreach ($root in (Get-MdeRegistryName).UninstallKeys) {
        foreach ($key in (Get-ChildItem -LiteralPath $root -ErrorAction SilentlyContinue)) {
            $name = $key.GetValue('DisplayName')
            if (-not $name) {
                continue
            }
            foreach ($p in $Pattern) {
                if ($name -like $p) {
                    @{
                        display_name = $name
                        version = $key.GetValue('DisplayVersion')
                    }
                    break
                }
            }
        }
    }
    , @($found)
}

Function Get-MdePendingReboot {
    <#
    .SYNOPSIS
    Returns the usual markers of a pending reboot.
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param ()
    $reg = Get-MdeRegistryName
    @{
        component_based_servicing = Test-Path -LiteralPath $reg.CbsRebootPendingKey
        windows_update = Test-Path -LiteralPath $reg.WuRebootRequiredKey
        pending_file_rename = $null -ne (Get-MdeRegistryValue -Path $reg.SessionManagerKey -Name $reg.PendingFileRenameValue)
    }
}

Function Test-MdeUnifiedAgent {
    <#
    .SYNOPSIS
    Returns $true when the modern unified solution (md4ws.msi) is installed.

    .DESCRIPTION
    md4ws.msi registers as "Microsoft Defender for Endpoint"; older releases registered as
    "Microsoft Defender for Windows Server" (Microsoft's install.ps1 for it looks for both).
    #>
    [CmdletBinding()]
    [OutputType([Bool])]
    param ()
    $products = Get-MdeInstalledProduct -Pattern @('Microsoft Defender for Endpoint*', 'Microsoft Defender for Windows Server*')
    return ($products.Count -gt 0)
}

Function Get-MdeOnboardingOrgId {
    <#
    .SYNOPSIS
    Returns the orgId inside the OnboardingInfo registry value, or $null (no value, or unreadable).

    .DESCRIPTION
    OnboardingInfo is JSON whose 'body' is JSON text holding orgId (docs/sources.md §3.4). Only
    the id leaves the host: the value also carries the onboarding signature and certificate.
    #>
    [CmdletBinding()]
    [OutputType([String])]
    param ()
    $reg = Get-MdeRegistryName
    $info = Get-MdeRegistryValue -Path $reg.AtpPolicyKey -Name $reg.OnboardingInfoValue
    if (-not $info) {
        return $null
    }
    try {
        $outer = ConvertFrom-Json -InputObject ([String]$info) -ErrorAction Stop
        $body = ConvertFrom-Json -InputObject $outer.body -ErrorAction Stop
    }
    catch {
        return $null
    }
    if ($body.orgId) {
        return [String]$body.orgId
    }
    return $null
}

Function Get-MdePolicyValue {
    <#
    .SYNOPSIS
    Returns the onboarding and policy registry values the collection reads.
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param ()
    $reg = Get-MdeRegistryName
    @{
        onboarding_state = Get-MdeRegistryValue -Path $reg.AtpStatusKey -Name $reg.OnboardingStateValue
        status_org_id = Get-MdeRegistryValue -Path $reg.AtpStatusKey -Name $reg.OrgIdValue
        onboarding_org_id = Get-MdeOnboardingOrgId
        force_defender_passive_mode = Get-MdeRegistryValue -Path $reg.AtpPolicyKey -Name $reg.PassiveModeValue
        guide_force_passive_mode = Get-MdeRegistryValue -Path $reg.DefenderPolicyKey -Name $reg.GuidePassiveModeValue
        disable_antispyware = Get-MdeRegistryValue -Path $reg.DefenderPolicyKey -Name $reg.DisableAntiSpywareValue
        disable_realtime_monitoring = Get-MdeRegistryValue -Path $reg.RealTimeProtectionPolicyKey -Name $reg.DisableRealtimeMonitoringValue
    }
}

Function Get-MdeThirdPartyProtection {
    <#
    .SYNOPSIS
    Whether a third-party antivirus provides real-time protection right now, and what says so.

    .DESCRIPTION
    Read at the moment of a change that makes Defender stand aside (ForceDefenderPassiveMode = 1,
    onboarding a server that holds it), so that real-time protection that went off since the
    assessment is seen. Counts: a Security Center product that is not Defender whose productState
    decodes to on (clients; the community decoding of docs/sources.md section 4, bits 0xF000 = 0x1000),
    and a running service of a known antivirus (ServicePattern, Microsoft's own services excluded).
    Anything that cannot be read counts as not protecting.
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param (
        [Parameter(Mandatory = $true)][AllowEmptyCollection()][String[]]$ServicePattern
    )
    $microsoftServices = @('WinDefend', 'Sense', 'WdNisSvc', 'MDCoreSvc', 'SecurityHealthService', 'wscsvc')
    $evidence = [System.Collections.Generic.List[String]]@()
    $securityCenter = Get-MdeSecurityCenterProduct
    foreach ($product in $securityCenter.products) {
        $name = [String]$product.displayName
        if ($name -like '*Windows Defender*' -or $name -like '*Microsoft Defender*' -or $name -like '*Microsoft Security Essentials*') {
            continue
        }
        if ((($product.productState -band 0xF000) -eq 0x1000) -and (($product.productState -band 0x0F00) -ne 0x0100)) {
            $evidence.Add("Security Center: $name is on")
        }
    }
    foreach ($service in (Get-MdeAvService -Pattern $ServicePattern)) {
        if ($microsoftServices -contains $service.name) {
            continue
        }
        if ($service.state -eq 'Running') {
            $evidence.Add("service $($service.name) is running")
        }
    }
    @{
        protecting = ($evidence.Count -gt 0)
        evidence = @($evidence)
    }
}

Function Add-MdeHostReadOption {
    <#
    .SYNOPSIS
    Adds to a module's argument spec the internal options of the host read (Get-MdeHostState):
    the Get-MpComputerStatus properties and the service and product patterns the action plugin sends.
    #>
    [CmdletBinding()]
    param (
        [Parameter(Mandatory = $true)][Hashtable]$Spec
    )
    $Spec.options._mp_status_fields = @{ type = 'list'; elements = 'str'; default = @() }
    $Spec.options._service_patterns = @{ type = 'list'; elements = 'str'; default = @() }
    $Spec.options._product_patterns = @{ type = 'list'; elements = 'str'; default = @() }
}

Function Get-MdeHostState {
    <#
    .SYNOPSIS
    Reads everything the diagnosis needs, in one go: the raw result of win_mde_info.
    .DESCRIPTION
    Throws when the operating system cannot be read with CIM; the other parts report their own
    errors in their values (mp_status_error, security_center.error).
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param (
        [Parameter(Mandatory = $true)][String[]]$MpStatusField,
        [Parameter(Mandatory = $true)][AllowEmptyCollection()][String[]]$ServicePattern,
        [Parameter(Mandatory = $true)][AllowEmptyCollection()][String[]]$ProductPattern
    )
    $os = Get-MdeOsInfo
    $computer = Get-MdeComputerInfo
    $status = Get-MdeComputerStatus -FieldName $MpStatusField
    $services = @{}
    foreach ($name in @('WinDefend', 'Sense', 'WscSvc')) {
        $services.$name = Get-MdeServiceInfo -Name $name
    }
    if ($os.product_type -eq 1) {
        $securityCenter = Get-MdeSecurityCenterProduct
    }
    else {
        $securityCenter = @{ available = $false; error = 'Security Center does not exist on Windows Server'; products = @() }
    }
    @{
        os = $os
        computer = $computer
        mp_status = $status.status
        mp_status_error = $status.error
        services = $services
        registry = Get-MdePolicyValue
        security_center = $securityCenter
        av_services = Get-MdeAvService -Pattern $ServicePattern
        installed_products = Get-MdeInstalledProduct -Pattern $ProductPattern
        reboot_pending = Get-MdePendingReboot
        unified_agent = Test-MdeUnifiedAgent
    }
}

$exportMembers = @{
    Function = 'Get-MdeRegistryName', 'Get-MdeRegistryValue', 'Get-MdeOsInfo', 'Get-MdeComputerInfo', 'Get-MdeComputerStatus',
    'Get-MdeServiceInfo', 'Get-MdeSecurityCenterProduct', 'Get-MdeAvService', 'Get-MdeInstalledProduct',
    'Get-MdePendingReboot', 'Test-MdeUnifiedAgent', 'Get-MdeOnboardingOrgId', 'Get-MdePolicyValue',
    'Get-MdeHostState', 'Get-MdeThirdPartyProtection', 'Add-MdeHostReadOption'
}
Export-ModuleMember @exportMembers
