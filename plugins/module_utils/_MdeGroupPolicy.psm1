# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE to the mdeops.defender collection: these functions may change in any release.
# Group Policy reads and changes for win_mde_gpo (on a domain controller or a management
# server with the GroupPolicy module) and win_mde_policy_refresh (on the members). They
# return plain hashtables, throw on failure and never call FailJson; the Python action
# plugins decide what the observations mean.
# Why one file: Ansible ships a module util per #AnsibleRequires line, and both modules need the
# GPO reads and the directory reads together (the GPO's version, its computer group, the member's
# domain controller); split by concern, every module would list several utils for one step.

Function Test-MdeGroupPolicyModule {
    <#
    .SYNOPSIS
    Returns $true when the GroupPolicy module (GPMC / RSAT) is available on this host.

    .DESCRIPTION
    The module ships with the Group Policy Management feature: on domain controllers, and on
    management servers or workstations with RSAT. Get-Command loads it on demand.
    #>
    [CmdletBinding()]
    [OutputType([Bool])]
    param ()
    $command = Get-Command -Name New-GPO -ErrorAction SilentlyContinue
    return ($null -ne $command)
}

Function Get-MdeDomainName {
    <#
    .SYNOPSIS
    Returns the DNS name of the domain this host belongs to.
    #>
    [CmdletBinding()]
    [OutputType([String])]
    param ()
    $cs = Get-CimInstance -ClassName Win32_ComputerSystem -Property Domain
    return [String]$cs.Domain
}

Function Get-MdeGpo {
    <#
    .SYNOPSIS
    Returns a GPO by display name, or $null when there is none.

    .PARAMETER Name
    The display name of the GPO.
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param (
        [Parameter(Mandatory = $true)][String]$Name
    )
    try {
        $gpo = Get-GPO -Name $Name -ErrorAction Stop
    }
    catch {
        # "GPO with the name ... was not found" (an ArgumentException, error id GpoWithNameNotFound)
        # means there is none; anything else (access denied, no domain controller) is a failure.
        if ($_.Exception -is [System.ArgumentException] -or $_.FullyQualifiedErrorId -like 'GpoWithNameNotFound*') {
            return $null
        }
        throw
    }
    @{
        id = $gpo.Id.ToString()
        display_name = $gpo.DisplayName
        description = $gpo.Description
        # The computer part of the GPO's version, as this domain controller has it (members compare it
        # with their own domain controller's copy: win_mde_policy_refresh).
        version = [int]$gpo.Computer.DSVersion
    }
}

Function Get-MdeGpoSecurity {
    <#
    .SYNOPSIS
    Returns the security filtering of a GPO: its computer group, the group's members and the permissions
    of the group and of Authenticated Users on the GPO.

    .PARAMETER Name
    The display name of the GPO.

    .PARAMETER Group
    The name of the computer group.

    .PARAMETER GpoExists
    Whether the GPO exists (its permissions are read only then).
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param (
        [Parameter(Mandatory = $true)][String]$Name,
        [Parameter(Mandatory = $true)][String]$Group,
        [Parameter(Mandatory = $true)][Bool]$GpoExists
    )
    $result = @{
        group = $Group
        group_exists = $false
        members = @()
        group_permission = 'None'
        authenticated_users_permission = 'None'
    }
    try {
        $null = Get-ADGroup -Identity $Group -ErrorAction Stop
        $result.group_exists = $true
    }
    catch {
        # ADIdentityNotFoundException: there is no such group (yet); anything else is a failure.
        if ($_.FullyQualifiedErrorId -notlike '*ADIdentityNotFoundException*') {
            throw
        }
    }
    if ($result.group_exists) {
        $result.members = @(Get-ADGroupMember -Identity $Group -ErrorAction Stop | ForEach-Object { [String]$_.SamAccountName })
    }
    if ($GpoExists) {
        foreach ($permission in (Get-GPPermission -Name $Name -All -ErrorAction Stop)) {
            $trustee = [String]$permission.Trustee.Name
            if ($trustee -eq $Group) {
                $result.group_permission = $permission.Permission.ToString()
            }
            elseif ($trustee -eq 'Authenticated Users') {
                $result.authenticated_users_permission = $permission.Permission.ToString()
            }
        }
    }
    $result
}

Function Get-MdeGpoDirectoryVersion {
    <#
    .SYNOPSIS
    Returns whether the domain controller this computer uses has a GPO, and the computer part of its version.

    .DESCRIPTION
    Reads the GPO's groupPolicyContainer (versionNumber: user version * 65536 + computer version) with a
    serverless directory search, which binds to the domain controller the computer's locator found.

    .PARAMETER GpoId
    The GUID of the GPO.
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param (
        [Parameter(Mandatory = $true)][Guid]$GpoId
    )
    $searcher = [System.DirectoryServices.DirectorySearcher]::new("(&(objectClass=groupPolicyContainer)(cn=$($GpoId.ToString('B'))))")
    $null = $searcher.PropertiesToLoad.Add('versionNumber')
    $results = $searcher.FindAll()
    $versions = @()
    try {
        $versions = @(foreach ($entry in $results) { [int]$entry.Properties['versionnumber'][0] })
    }
    finally {
        $results.Dispose()
    }
    if ($versions.Count -eq 0) {
        return @{ found = $false; version = $null }
    }
    @{ found = $true; version = ($versions[0] -band 0xFFFF) }
}

Function Get-MdeComputerGroup {
    <#
    .SYNOPSIS
    Returns the distinguished names of the groups this computer is in, as the domain controller it uses has them.

    .DESCRIPTION
    Reads the memberOf attribute of the computer's own account with a serverless directory search.
    #>
    [CmdletBinding()]
    [OutputType([Object[]])]
    param ()
    $name = (Get-CimInstance -ClassName Win32_ComputerSystem -Property Name).Name
    $searcher = [System.DirectoryServices.DirectorySearcher]::new("(&(objectClass=computer)(sAMAccountName=$name`$))")
    $null = $searcher.PropertiesToLoad.Add('memberOf')
    $results = $searcher.FindAll()
    $groups = @()
    try {
        $groups = @(foreach ($entry in $results) {
                foreach ($dn in $entry.Properties['memberof']) { [String]$dn }
            })
    }
    finally {
        $results.Dispose()
    }
    , $groups
}

Function Clear-MdeComputerTicket {
    <#
    .SYNOPSIS
    Purges the computer account's Kerberos tickets (klist -li 0x3e7 purge) and returns klist's exit code and output.

    .DESCRIPTION
    A computer's security groups are in its Kerberos ticket; a computer added to a group only gets
    the GPOs filtered on that group with a new ticket: after a restart or after this purge.
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param ()
    # klist writes its errors to stderr: take them as text (see Invoke-MdeGpUpdate).
    $ErrorActionPreference = 'Continue'
    # Quoted: PowerShell would pass a bare 0x3e7 as 999, and klist reads -li as hexadecimal.
    $output = & klist.exe -li '0x3e7' purge 2>&1 | ForEach-Object { "$_" } | Out-String
    @{
        rc = $LASTEXITCODE
        stdout = $output
    }
}

Function ConvertTo-MdeGpoRegistryItem {
    <#
    .SYNOPSIS
    Returns what a registry item of a GPO says (Get-GPRegistryValue, Get-GPPrefRegistryValue): hive, key, value
    name, type and value.
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param (
        [Parameter(Mandatory = $true)][Object]$Item
    )
    @{
        hive = $Item.Hive.ToString()
        key = $Item.KeyPath
        value_name = $Item.ValueName
        type = $Item.Type.ToString()
        value = $Item.Value
    }
}

Function Get-MdeGpoValue {
    <#
    .SYNOPSIS
    Returns the items of a GPO that configure one registry value: its Registry.pol (Administrative
    Templates) value, or with -Preference its Group Policy Preferences registry items.

    .DESCRIPTION
    Registry.pol holds zero or one item for a value. There may be several preference items for the
    same value (Set-GPPrefRegistryValue adds one on every call); all are returned, each with its
    action and whether it is disabled. An empty list means none is configured.

    .PARAMETER GpoId
    The GUID of the GPO.

    .PARAMETER Key
    The registry key, for example HKLM\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection.

    .PARAMETER ValueName
    The registry value name.

    .PARAMETER Preference
    Read the Group Policy Preferences registry items instead of Registry.pol.
    #>
    [CmdletBinding()]
    [OutputType([Object[]])]
    param (
        [Parameter(Mandatory = $true)][Guid]$GpoId,
        [Parameter(Mandatory = $true)][String]$Key,
        [Parameter(Mandatory = $true)][String]$ValueName,
        [Switch]$Preference
    )
    try {
        if ($Preference) {
            $items = Get-GPPrefRegistryValue -Guid $GpoId -Context Computer -Key $Key -ValueName $ValueName -ErrorAction Stop
        }
        else {
            $items = Get-GPRegistryValue -Guid $GpoId -Key $Key -ValueName $ValueName -ErrorAction Stop
        }
    }
    catch {
        # Both cmdlets throw when nothing in the GPO configures the value; that is "not configured" here.
        # A real failure to read the GPO shows up again, loudly, when it is changed.
        return , @()
    }
    $found = foreach ($item in $items) {
        $value = ConvertTo-MdeGpoRegistryItem -Item $item
        if ($Preference) {
            $value.action = $item.Action.ToString()
            $value.disabled = [bool]$item.DisabledDirectly
        }
        $value
    }
    , @($found)
}

Function Get-MdeGpoLinkedSom {
    <#
    .SYNOPSIS
    Returns the domain and OU objects whose gPLink attribute links the GPO, with the raw attribute.

    .PARAMETER GpoId
    The GUID of the GPO.
    #>
    [CmdletBinding()]
    [OutputType([Object[]])]
    param (
        [Parameter(Mandatory = $true)][Guid]$GpoId
    )
    $searcher = [System.DirectoryServices.DirectorySearcher]::new("(gPLink=*$($GpoId.ToString('B'))*)")
    $null = $searcher.PropertiesToLoad.Add('distinguishedName')
    $null = $searcher.PropertiesToLoad.Add('gPLink')
    $results = $searcher.FindAll()
    try {
        $found = foreach ($entry in $results) {
            @{
                target = [String]$entry.Properties['distinguishedname'][0]
                gplink = [String]$entry.Properties['gplink'][0]
            }
        }
    }
    finally {
        $results.Dispose()
    }
    , @($found)
}

Function Get-MdeGpoTarget {
    <#
    .SYNOPSIS
    Returns whether an OU exists, the GPO links on it and the GPOs it inherits (Get-GPInheritance).

    .PARAMETER Target
    The distinguished name of the OU or of the domain.
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param (
        [Parameter(Mandatory = $true)][String]$Target
    )
    $result = @{ target = $Target; exists = $false; error = $null; blocks_inheritance = $false; links = @(); inherited = @() }
    try {
        $som = Get-GPInheritance -Target $Target -ErrorAction Stop
    }
    catch {
        $result.error = $_.Exception.Message
        return $result
    }
    $result.exists = $true
    $result.blocks_inheritance = [bool]$som.GpoInheritanceBlocked
    $result.links = @(foreach ($link in $som.GpoLinks) { ConvertTo-MdeGpoLink -Link $link })
    $result.inherited = @(foreach ($link in $som.InheritedGpoLinks) { ConvertTo-MdeGpoLink -Link $link })
    $result
}

Function ConvertTo-MdeGpoLink {
    <#
    .SYNOPSIS
    Converts a GpoLink object of the GroupPolicy module to a hashtable.

    .PARAMETER Link
    The GpoLink.
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param (
        [Parameter(Mandatory = $true)][Object]$Link
    )
    @{
        gpo_id = $Link.GpoId.ToString()
        display_name = $Link.DisplayName
        enabled = [bool]$Link.Enabled
        enforced = [bool]$Link.Enforced
        order = [int]$Link.Order
        target = [String]$Link.Target
    }
}

Function Get-MdeGpoConflict {
    <#
    .SYNOPSIS
    Returns the values that other GPOs reaching the target OUs set, for the values asked for.

    .PARAMETER Target
    The results of Get-MdeGpoTarget.

    .PARAMETER Value
    Hashtables with key and value_name.

    .PARAMETER ExcludeGpoId
    The GUID of the module's own GPO, or an empty string.
    #>
    [CmdletBinding()]
    [OutputType([Object[]])]
    param (
        [Parameter(Mandatory = $true)][AllowEmptyCollection()][Object[]]$Target,
        [Parameter(Mandatory = $true)][AllowEmptyCollection()][Object[]]$Value,
        [Parameter(Mandatory = $true)][AllowEmptyString()][String]$ExcludeGpoId
    )
    $reach = @{}
    foreach ($t in $Target) {
        foreach ($link in $t.inherited) {
            if ($link.gpo_id -eq $ExcludeGpoId) {
                continue
            }
            if (-not $reach.ContainsKey($link.gpo_id)) {
                $reach[$link.gpo_id] = @{ display_name = $link.display_name; targets = [System.Collections.Generic.List[String]]::new() }
            }
            $reach[$link.gpo_id].targets.Add($t.target)
        }
    }
    $found = foreach ($gpoId in $reach.Keys) {
        foreach ($v in $Value) {
            # Get-MdeGpoValue returns its list as one object; @($list) enumerates it.
            $policyItems = Get-MdeGpoValue -GpoId $gpoId -Key $v.key -ValueName $v.value_name
            $preferenceItems = Get-MdeGpoValue -GpoId $gpoId -Key $v.key -ValueName $v.value_name -Preference
            foreach ($item in (@($policyItems) + @($preferenceItems))) {
                @{
                    gpo_id = $gpoId
                    display_name = $reach[$gpoId].display_name
                    kind = if ($item.ContainsKey('action')) { 'preference' } else { 'policy' }
                    key = $v.key
                    value_name = $v.value_name
                    value = $item.value
                    targets = @($reach[$gpoId].targets)
                }
            }
        }
    }
    , @($found)
}

Function ConvertTo-MdeYesNo {
    <#
    .SYNOPSIS
    $true -> Yes, $false -> No (the EnableLink enumeration of New-GPLink and Set-GPLink).

    .PARAMETER Value
    The boolean.
    #>
    [CmdletBinding()]
    [OutputType([String])]
    param (
        [Parameter(Mandatory = $true)][Bool]$Value
    )
    if ($Value) {
        return 'Yes'
    }
    return 'No'
}

Function Invoke-MdeGpoChange {
    <#
    .SYNOPSIS
    Performs one change of a GPO (one GroupPolicy cmdlet call, two for a preference item).

    .DESCRIPTION
    The change is a hashtable with op and the fields of that operation, as the action plugin
    planned it: create_gpo (comment), set_comment (comment), set_preference and set_policy
    (key, value_name, type, value), remove_preference and remove_policy (key, value_name),
    new_link, set_link (target, enabled, enforced), remove_link (target), remove_gpo.

    .PARAMETER Name
    The display name of the GPO.

    .PARAMETER Change
    The change.
    #>
    [CmdletBinding()]
    param (
        [Parameter(Mandatory = $true)][String]$Name,
        [Parameter(Mandatory = $true)][Hashtable]$Change
    )
    $value = $Change.value
    if ($Change.type -eq 'DWord') {
        $value = [Int32]$Change.value
    }
    $item = @{ Name = $Name; Key = $Change.key; ValueName = $Change.value_name; ErrorAction = 'Stop' }
    switch ($Change.op) {
        'create_gpo' { $null = New-GPO -Name $Name -Comment $Change.comment -ErrorAction Stop }
        'set_comment' { (Get-GPO -Name $Name -ErrorAction Stop).Description = $Change.comment }
        'set_preference' {
            # Set-GPPrefRegistryValue adds an item on every call: remove the old ones first.
            Remove-MdeGpoPreferenceValue @item
            $null = Set-GPPrefRegistryValue @item -Context Computer -Action Update -Type $Change.type -Value $value
        }
        'remove_preference' { Remove-MdeGpoPreferenceValue @item }
        'set_policy' { $null = Set-GPRegistryValue @item -Type $Change.type -Value $value }
        'remove_policy' { $null = Remove-GPRegistryValue @item }
        'new_link' {
            $null = New-GPLink -Name $Name -Target $Change.target -LinkEnabled (ConvertTo-MdeYesNo $Change.enabled) -Enforced (ConvertTo-MdeYesNo $Change.enforced) -ErrorAction Stop
        }
        'set_link' {
            $null = Set-GPLink -Name $Name -Target $Change.target -LinkEnabled (ConvertTo-MdeYesNo $Change.enabled) -Enforced (ConvertTo-MdeYesNo $Change.enforced) -ErrorAction Stop
        }
        'remove_link' { $null = Remove-GPLink -Name $Name -Target $Change.target -ErrorAction Stop }
        'remove_gpo' { Remove-GPO -Name $Name -Confirm:$false -ErrorAction Stop }
        'create_group' {
            $null = New-ADGroup -Name $Change.group -GroupScope Global -GroupCategory Security -Description 'Computers that get ForceDefenderPassiveMode by Group Policy. Managed by Ansible.' -ErrorAction Stop
        }
        'add_members' { Add-ADGroupMember -Identity $Change.group -Members $Change.members -ErrorAction Stop }
        'remove_members' { Remove-ADGroupMember -Identity $Change.group -Members $Change.members -Confirm:$false -ErrorAction Stop }
        'set_permission' {
            $null = Set-GPPermission -Name $Name -TargetName $Change.target -TargetType $Change.target_type -PermissionLevel $Change.level -Replace -ErrorAction Stop
        }
        default { throw "unknown Group Policy change '$($Change.op)'" }
    }
}

Function Remove-MdeGpoPreferenceValue {
    <#
    .SYNOPSIS
    Removes every Group Policy Preferences registry item of a GPO that configures one value.

    .PARAMETER Name
    The display name of the GPO.

    .PARAMETER Key
    The registry key.

    .PARAMETER ValueName
    The registry value name.
    #>
    [CmdletBinding()]
    param (
        [Parameter(Mandatory = $true)][String]$Name,
        [Parameter(Mandatory = $true)][String]$Key,
        [Parameter(Mandatory = $true)][String]$ValueName
    )
    $gpo = Get-GPO -Name $Name -ErrorAction Stop
    $existing = Get-MdeGpoValue -GpoId $gpo.Id -Key $Key -ValueName $ValueName -Preference
    if ($existing.Count -gt 0) {
        $null = Remove-GPPrefRegistryValue -Name $Name -Context Computer -Key $Key -ValueName $ValueName -ErrorAction Stop
    }
}

Function Invoke-MdeGpUpdate {
    <#
    .SYNOPSIS
    Refreshes computer policy (gpupdate /target:computer /force) and returns its exit code and output.

    .PARAMETER TimeoutSeconds
    How long gpupdate waits for policy processing (/wait).
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param (
        [Parameter(Mandatory = $true)][Int32]$TimeoutSeconds
    )
    # gpupdate writes its errors to stderr. Under Ansible's ErrorActionPreference Stop, Windows
    # PowerShell 5.1 makes the first stderr line of '2>&1' a terminating NativeCommandError: take
    # stderr as text with the preference Continue (this function's scope only).
    $ErrorActionPreference = 'Continue'
    # "N" answers the "OK to restart?" question gpupdate asks when a startup-only extension
    # (software installation) is pending: this module never reboots.
    $output = 'N' | & gpupdate.exe /target:computer /force "/wait:$TimeoutSeconds" 2>&1 | ForEach-Object { "$_" } | Out-String
    @{
        rc = $LASTEXITCODE
        stdout = $output
    }
}

Function Get-MdeGpResultXml {
    <#
    .SYNOPSIS
    Returns the computer's RSOP report (gpresult /scope computer /x) as text, or the error.

    .PARAMETER Path
    Where gpresult writes the report (a file in the module's temporary directory).
    #>
    [CmdletBinding()]
    [OutputType([Hashtable])]
    param (
        [Parameter(Mandatory = $true)][String]$Path
    )
    # stderr as text, as in Invoke-MdeGpUpdate ('2>&1' under Stop would end the module).
    $ErrorActionPreference = 'Continue'
    # /scope computer: without it gpresult exits 0 and writes nothing when the connecting
    # account has no user RSOP data, which is the case over WinRM.
    $output = & gpresult.exe /scope computer /x $Path /f 2>&1 | ForEach-Object { "$_" } | Out-String
    $rc = $LASTEXITCODE
    if ($rc -ne 0 -or -not (Test-Path -LiteralPath $Path)) {
        return @{ xml = $null; error = "gpresult /scope computer /x exited with $($rc): $($output.Trim())" }
    }
    try {
        # The report is UTF-16 with a byte order mark; ReadAllText detects it.
        $xml = [System.IO.File]::ReadAllText($Path)
    }
    finally {
        Remove-Item -LiteralPath $Path -Force -ErrorAction SilentlyContinue
    }
    @{ xml = $xml; error = $null }
}

$exportMembers = @{
    Function = 'Test-MdeGroupPolicyModule', 'Get-MdeDomainName', 'Get-MdeGpo', 'Get-MdeGpoSecurity',
    'Get-MdeGpoDirectoryVersion', 'Get-MdeComputerGroup', 'Clear-MdeComputerTicket', 'Get-MdeGpoValue',
    'Get-MdeGpoLinkedSom', 'Get-MdeGpoTarget', 'ConvertTo-MdeGpoLink', 'Get-MdeGpoConflict',
    'ConvertTo-MdeYesNo', 'Invoke-MdeGpoChange', 'Remove-MdeGpoPreferenceValue', 'Invoke-MdeGpUpdate',
    'Get-MdeGpResultXml', 'ConvertTo-MdeGpoRegistryItem'
}
Export-ModuleMember @exportMembers
