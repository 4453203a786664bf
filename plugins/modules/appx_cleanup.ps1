#!powershell

# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#Requires -Module Ansible.ModuleUtils.CommandUtil

# Two explicit steps for the action plugin of the same name, which decides in Python
# (plugins/module_utils/appx_cleanup.py) what to remove:
#   without _plan: read the Appx state (packages per user, bundles, provisioned packages, the
#                  two policy values) and change nothing;
#   with _plan:    remove exactly the package full names, provisioned package names and
#                  policies the plan lists, and report each outcome.
# The user options are read by the action plugin only, as win_updates does with its
# controller-side options.

$spec = @{
    options = @{
        # Options of the action plugin (see appx_cleanup.yml); this module never reads them.
        packages = @{ type = 'list'; elements = 'str'; default = @() }
        remove_user_not_provisioned = @{ type = 'bool'; default = $true }
        remove_provisioned = @{ type = 'list'; elements = 'str'; default = @() }
        protect = @{
            type = 'list'
            elements = 'str'
            default = @(
                'Microsoft.WindowsStore', 'Microsoft.DesktopAppInstaller', 'Microsoft.VCLibs.*',
                'Microsoft.NET.*', 'Microsoft.UI.Xaml.*', 'Microsoft.Services.Store.Engagement'
            )
        }
        disable_store_auto_update = @{ type = 'bool'; default = $false }
        disable_consumer_features = @{ type = 'bool'; default = $false }
        # Set by the action plugin only: exactly what to do.
        _plan = @{
            type = 'dict'
            options = @{
                remove_packages = @{
                    type = 'list'
                    elements = 'dict'
                    default = @()
                    options = @{
                        package_full_name = @{ type = 'str'; required = $true }
                        bundle_full_name = @{ type = 'str' }
                        user_sids = @{ type = 'list'; elements = 'str'; default = @() }
                    }
                }
                deprovision = @{ type = 'list'; elements = 'str'; default = @() }
                policies = @{
                    type = 'list'
                    elements = 'str'
                    default = @()
                    choices = @('store_auto_update', 'consumer_features')
                }
            }
        }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$ErrorActionPreference = 'Stop'

# Policy name -> registry value; the same table as POLICIES in module_utils/appx_cleanup.py.
# WindowsStore.admx "Turn off Automatic Download and Install of updates": AutoDownload 2 = off.
# CloudContent.admx "Turn off Microsoft consumer experiences": DisableWindowsConsumerFeatures 1.
# https://learn.microsoft.com/windows/client-management/mdm/policy-csp-applicationmanagement
# https://learn.microsoft.com/windows/client-management/mdm/policy-csp-experience
$policyTable = @{
    store_auto_update = @{ SubKey = 'SOFTWARE\Policies\Microsoft\WindowsStore'; Name = 'AutoDownload'; Data = 2 }
    consumer_features = @{ SubKey = 'SOFTWARE\Policies\Microsoft\Windows\CloudContent'; Name = 'DisableWindowsConsumerFeatures'; Data = 1 }
}

# ---------------------------------------------------------------------------
# Appx work. These functions use nothing but their arguments, because they also run in a
# child powershell.exe (see Invoke-AppxRequest).

function ConvertTo-AppxPackageData {
    # One Get-AppxPackage object as data: the shape of the readiness facts appx.packages.
    # https://learn.microsoft.com/powershell/module/appx/get-appxpackage
    # PackageUserInformation: https://learn.microsoft.com/uwp/api/windows.management.deployment.packageuserinformation
    param($Package)

    $users = @(foreach ($info in @($Package.PackageUserInformation)) {
            if ($null -eq $info) {
                continue
            }
            $username = [string]$info.UserSecurityId.UserName
            @{
                sid = [string]$info.UserSecurityId.Sid
                username = if ($username) { $username } else { $null }
                install_state = [string]$info.InstallState
            }
        })
    $properties = $Package.PSObject.Properties
    @{
        name = [string]$Package.Name
        package_full_name = [string]$Package.PackageFullName
        version = [string]$Package.Version
        architecture = [string]$Package.Architecture
        users = $users
        is_framework = if ($properties['IsFramework']) { [bool]$Package.IsFramework } else { $null }
        non_removable = if ($properties['NonRemovable']) { [bool]$Package.NonRemovable } else { $null }
        signature_kind = if ($properties['SignatureKind']) { [string]$Package.SignatureKind } else { $null }
    }
}

function Get-AppxState {
    # -PackageTypeFilter Bundle lists the bundles Remove-AppxPackage -AllUsers needs; older
    # builds have no such parameter and report bundles as unknown ($null).
    # https://learn.microsoft.com/powershell/module/appx/get-appxpackage
    # https://learn.microsoft.com/powershell/module/dism/get-appxprovisionedpackage
    $packages = @(Get-AppxPackage -AllUsers | ForEach-Object { ConvertTo-AppxPackageData -Package $_ })
    $bundles = $null
    if ((Get-Command -Name Get-AppxPackage).Parameters.ContainsKey('PackageTypeFilter')) {
        $bundles = @(Get-AppxPackage -AllUsers -PackageTypeFilter Bundle | ForEach-Object {
                ConvertTo-AppxPackageData -Package $_
            })
    }
    $provisioned = @(Get-AppxProvisionedPackage -Online | ForEach-Object {
            @{
                display_name = [string]$_.DisplayName
                package_name = [string]$_.PackageName
                version = [string]$_.Version
            }
        })
    @{
        packages = $packages
        bundles = $bundles
        provisioned = $provisioned
        remove_all_users_supported = (Get-Command -Name Remove-AppxPackage).Parameters.ContainsKey('AllUsers')
    }
}

function Remove-PlannedPackage {
    # Removes one planned package for every user: through its bundle first when the plan names
    # one (Microsoft: -AllUsers "works off the parent package type"), then by its own full name.
    # Builds whose Remove-AppxPackage has no -AllUsers remove it per user SID with -User.
    # https://learn.microsoft.com/powershell/module/appx/remove-appxpackage
    param($Item, [bool]$AllUsers)

    $targets = @(@($Item.bundle_full_name, $Item.package_full_name) | Where-Object { $_ } | Select-Object -Unique)
    $errors = @()
    foreach ($target in $targets) {
        try {
            if ($AllUsers) {
                Remove-AppxPackage -Package $target -AllUsers -ErrorAction Stop
                $method = 'all_users'
            }
            else {
                $sids = @($Item.user_sids | Where-Object { $_ })
                if ($sids.Count -eq 0) {
                    throw 'this build removes packages per user (Remove-AppxPackage has no -AllUsers) and no user has it registered'
                }
                foreach ($sid in $sids) {
                    Remove-AppxPackage -Package $target -User $sid -ErrorAction Stop
                }
                $method = 'per_user'
            }
            return @{ package_full_name = $Item.package_full_name; removed_as = $target; method = $method }
        }
        catch {
            $errors += ('{0}: {1}' -f $target, $_.Exception.Message)
        }
    }
    @{ package_full_name = $Item.package_full_name; error = ($errors -join '; ') }
}

function Invoke-AppxPlan {
    # Remove-AppxProvisionedPackage -Online stops provisioning for new users only; the action
    # plugin plans the removal of existing users' copies as well.
    # https://learn.microsoft.com/powershell/module/dism/remove-appxprovisionedpackage
    param($Plan)

    $allUsers = (Get-Command -Name Remove-AppxPackage).Parameters.ContainsKey('AllUsers')
    $removed = @()
    $removeFailed = @()
    foreach ($item in @($Plan.remove_packages)) {
        if ($null -eq $item) {
            continue
        }
        $outcome = Remove-PlannedPackage -Item $item -AllUsers $allUsers
        if ($outcome.ContainsKey('error')) { $removeFailed += $outcome } else { $removed += $outcome }
    }
    $deprovisioned = @()
    $deprovisionFailed = @()
    foreach ($name in @($Plan.deprovision | Where-Object { $_ })) {
        try {
            $null = Remove-AppxProvisionedPackage -Online -PackageName $name -ErrorAction Stop
            $deprovisioned += $name
        }
        catch {
            $deprovisionFailed += @{ package_name = $name; error = $_.Exception.Message }
        }
    }
    @{
        removed = $removed
        remove_failed = $removeFailed
        deprovisioned = $deprovisioned
        deprovision_failed = $deprovisionFailed
    }
}

function Invoke-AppxWork {
    param($Request)

    if ($Request.action -eq 'query') {
        Get-AppxState
    }
    else {
        Invoke-AppxPlan -Plan $Request.plan
    }
}

# ---------------------------------------------------------------------------
# Where the Appx work runs. On Windows 11 24H2 / Server 2025 the Appx cmdlets throw
# TypeInitializationException inside a WinRM/PSRP-hosted module and work in a powershell.exe
# process (ansible-collections/ansible.windows issue 756; AutomatedLab/AutomatedLab issue 1670);
# the readiness_facts module handles the same failure. A harmless probe decides, before
# anything changes, whether the work runs here or in one child Windows PowerShell 5.1.

function Test-AppxInProcess {
    try {
        $null = Get-AppxPackage -Name 'winimage.generalize.probe'
        $true
    }
    catch {
        $script:inProcessError = $_.Exception.Message
        $false
    }
}

function Get-AppxChildScript {
    $names = @('ConvertTo-AppxPackageData', 'Get-AppxState', 'Remove-PlannedPackage', 'Invoke-AppxPlan', 'Invoke-AppxWork')
    $definitions = foreach ($name in $names) {
        "function $name {`r`n$((Get-Command -Name $name -CommandType Function).Definition)`r`n}"
    }
    # The request comes from a file and the result goes to stdout as base64 of UTF-8 JSON, so the
    # console code page cannot garble package names.
    @"
param([string]`$RequestPath)
`$ErrorActionPreference = 'Stop'
`$ProgressPreference = 'SilentlyContinue'
$($definitions -join "`r`n")
`$request = [IO.File]::ReadAllText(`$RequestPath) | ConvertFrom-Json
`$result = Invoke-AppxWork -Request `$request
`$json = ConvertTo-Json -InputObject `$result -Depth 8 -Compress
[Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes(`$json))
"@
}

function Invoke-AppxInChild {
    param([System.Collections.IDictionary]$Request)

    $scriptPath = Join-Path -Path $module.Tmpdir -ChildPath 'appx_cleanup_child.ps1'
    $requestPath = Join-Path -Path $module.Tmpdir -ChildPath 'appx_cleanup_request.json'
    $utf8 = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false
    [IO.File]::WriteAllText($scriptPath, (Get-AppxChildScript), $utf8)
    [IO.File]::WriteAllText($requestPath, (ConvertTo-Json -InputObject $Request -Depth 8 -Compress), $utf8)

    $powershell = Join-Path -Path ([Environment]::SystemDirectory) -ChildPath 'WindowsPowerShell\v1.0\powershell.exe'
    $command = "`"$powershell`" -NoProfile -NonInteractive -ExecutionPolicy Bypass -File `"$scriptPath`" -RequestPath `"$requestPath`""
    $child = Run-Command -command $command
    $lines = @($child.stdout -split "`r?`n" | Where-Object { $_.Trim() })
    if ($child.rc -ne 0 -or $lines.Count -eq 0) {
        $detail = "$($child.stderr)".Trim()
        if ($detail.Length -gt 600) {
            $detail = $detail.Substring(0, 600) + '...'
        }
        # Thrown, not FailJson: the caller's catch reports it with what was being done.
        throw (("the Appx cmdlets failed in the module process ({0}) and in a child powershell.exe " +
                "(exit code {1}: {2}); see ansible-collections/ansible.windows issue 756") -f $script:inProcessError, $child.rc, $detail)
    }
    [Ansible.Basic.AnsibleModule]::FromJson([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($lines[-1].Trim())))
}

function Invoke-AppxRequest {
    param([System.Collections.IDictionary]$Request)

    if ($null -eq $script:appxRunner) {
        $script:appxRunner = if (Test-AppxInProcess) { 'in_process' } else { 'child_powershell' }
    }
    $module.Result.appx_runner = $script:appxRunner
    if ($script:appxRunner -eq 'in_process') {
        return Invoke-AppxWork -Request $Request
    }
    Invoke-AppxInChild -Request $Request
}

# ---------------------------------------------------------------------------
# Policies: the 64-bit registry view, so 32-bit PowerShell writes where Windows reads.
# https://learn.microsoft.com/dotnet/api/microsoft.win32.registrykey.openbasekey
# https://learn.microsoft.com/dotnet/api/microsoft.win32.registrykey.createsubkey
# https://learn.microsoft.com/dotnet/api/microsoft.win32.registrykey.setvalue

$machineHive = [Microsoft.Win32.RegistryKey]::OpenBaseKey(
    [Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)

function Get-PolicyValue {
    param([System.Collections.IDictionary]$Policy)

    $key = $machineHive.OpenSubKey($Policy.SubKey)
    if ($null -eq $key) {
        return $null
    }
    try {
        $key.GetValue($Policy.Name, $null)
    }
    finally {
        $key.Dispose()
    }
}

function Set-PolicyValue {
    param([System.Collections.IDictionary]$Policy)

    $key = $machineHive.CreateSubKey($Policy.SubKey)
    try {
        $key.SetValue($Policy.Name, [int]$Policy.Data, [Microsoft.Win32.RegistryValueKind]::DWord)
    }
    finally {
        $key.Dispose()
    }
}

# ---------------------------------------------------------------------------
# Main

$script:appxRunner = $null
$script:inProcessError = $null
$plan = $module.Params._plan

if (-not (Get-Command -Name Get-AppxPackage -ErrorAction SilentlyContinue)) {
    $module.FailJson('Get-AppxPackage is not available: this Windows installation has no Appx module, so it has no Store packages to clean up')
}

if ($null -eq $plan) {
    $userOptionsGiven = $module.Params.packages.Count -gt 0 -or $module.Params.remove_provisioned.Count -gt 0 -or
    $module.Params.disable_store_auto_update -or $module.Params.disable_consumer_features
    if ($userOptionsGiven) {
        $module.FailJson(('winimage.generalize.appx_cleanup decides what to remove in its action plugin, and the module ' +
                'was called without it. Use the task winimage.generalize.appx_cleanup, or from another action plugin ' +
                'run_appx_cleanup() in plugins/plugin_utils/appx_cleanup.py.'))
    }
    try {
        $state = Invoke-AppxRequest -Request @{ action = 'query' }
        $policies = @{}
        foreach ($name in $policyTable.Keys) {
            $policies[$name] = Get-PolicyValue -Policy $policyTable[$name]
        }
    }
    catch {
        $module.FailJson("Reading the Appx state failed: $($_.Exception.Message)", $_)
    }
    $state['policies'] = $policies
    $state['appx_runner'] = $script:appxRunner
    $module.Result.state = $state
    $module.Result.changed = $false
    $module.ExitJson()
}

$module.Result.removed = @()
$module.Result.remove_failed = @()
$module.Result.deprovisioned = @()
$module.Result.deprovision_failed = @()
$module.Result.policies_set = @()
$module.Result.policies_failed = @()
if ($module.CheckMode) {
    # The action plugin never sends a plan in check mode; nothing is changed if one arrives.
    $module.Result.changed = $false
    $module.ExitJson()
}

if ($plan.remove_packages.Count -gt 0 -or $plan.deprovision.Count -gt 0) {
    try {
        $outcome = Invoke-AppxRequest -Request @{ action = 'apply'; plan = $plan }
    }
    catch {
        $module.FailJson(("Carrying out the Appx plan failed ({0}); some packages may be removed already: run the " +
                "task again, it reads the state afresh") -f $_.Exception.Message, $_)
    }
    foreach ($key in @('removed', 'remove_failed', 'deprovisioned', 'deprovision_failed')) {
        $module.Result[$key] = @($outcome[$key] | Where-Object { $null -ne $_ })
    }
}
foreach ($name in @($plan.policies)) {
    try {
        Set-PolicyValue -Policy $policyTable[$name]
        $module.Result.policies_set += $name
    }
    catch {
        $module.Result.policies_failed += @{ name = $name; error = $_.Exception.Message }
    }
}

$module.Result.changed = ($module.Result.removed.Count + $module.Result.deprovisioned.Count + $module.Result.policies_set.Count) -gt 0
$module.ExitJson()
