#!powershell

# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#Requires -Module Ansible.ModuleUtils.CommandUtil

# Exports the third-party driver packages of the running Windows to a directory, with a
# manifest (winimage-drivers.json) that makes the export idempotent: the export is redone only
# when the installed packages differ from the manifest, compared by original INF name, version,
# provider and class (the IDENTITY_FIELDS of plugins/module_utils/driver_store.py).
# The export is written to "<destination>.partial" and renamed when complete, so an interrupted
# run never leaves a half export where a complete one is expected.

$spec = @{
    options = @{
        destination = @{ type = 'path' }
        state = @{ type = 'str'; choices = 'exported', 'inventory'; default = 'exported' }
        archive_path = @{ type = 'path' }
        method = @{ type = 'str'; choices = 'auto', 'export_windowsdriver', 'pnputil'; default = 'auto' }
    }
    required_if = @(, @('state', 'exported', @('destination')))
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$ErrorActionPreference = 'Stop'

$destination = if ($module.Params.destination) { $module.Params.destination.TrimEnd('\') } else { $null }
$archivePath = $module.Params.archive_path
if ($destination -and $destination -match '^[A-Za-z]:$|^\\\\[^\\]+\\[^\\]+$') {
    # The export replaces the whole directory: never a drive or share root.
    $module.FailJson("destination '$($module.Params.destination)' is a drive or share root; name a directory below it, e.g. D:\DriverStore\<model>")
}
$manifestName = 'winimage-drivers.json'
$identityFields = @('original_name', 'version', 'provider', 'class_name')

function Get-ThirdPartyDriver {
    # Without -All, Get-WindowsDriver lists only third-party (non-inbox) driver packages.
    # https://learn.microsoft.com/powershell/module/dism/get-windowsdriver
    @(Get-WindowsDriver -Online | ForEach-Object {
            @{
                published_name = [string]$_.Driver
                original_name = [string](Split-Path -Path ([string]$_.OriginalFileName) -Leaf)
                provider = [string]$_.ProviderName
                class_name = [string]$_.ClassName
                version = [string]$_.Version
                date = if ($_.Date) { ([datetime]$_.Date).ToString('yyyy-MM-dd', [Globalization.CultureInfo]::InvariantCulture) } else { $null }
                boot_critical = [bool]$_.BootCritical
            }
        } | Sort-Object -Property { $_.original_name })
}

function Get-DriverIdentity {
    # One comparable line per driver package, lower-cased like driver_store.driver_identity.
    param($Driver)

    $parts = foreach ($field in $identityFields) {
        "$($Driver.$field)".Trim().ToLowerInvariant()
    }
    $parts -join '|'
}

function Get-IdentityLine {
    param($Drivers)

    , @(@($Drivers) | Where-Object { $null -ne $_ } | ForEach-Object { Get-DriverIdentity -Driver $_ } | Sort-Object)
}

function Read-Manifest {
    # The manifest of an earlier export, or $null when there is none or it cannot be read.
    param([string]$Path)

    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) {
        return $null
    }
    try {
        [Ansible.Basic.AnsibleModule]::FromJson([IO.File]::ReadAllText($Path))
    }
    catch {
        $module.Warn("Ignoring the unreadable driver manifest '$Path' ($($_.Exception.Message)); exporting again")
        $null
    }
}

function Resolve-ExportMethod {
    # Export-WindowsDriver (DISM module, Windows 8.1 / Server 2012 R2 and later) or
    # pnputil /export-driver (Windows 10 version 1607 and later).
    # https://learn.microsoft.com/powershell/module/dism/export-windowsdriver
    # https://learn.microsoft.com/windows-hardware/drivers/devtest/pnputil-command-syntax
    param([string]$Requested)

    if ($Requested -ne 'auto') {
        return $Requested
    }
    if (Get-Command -Name Export-WindowsDriver -ErrorAction SilentlyContinue) {
        return 'export_windowsdriver'
    }
    $build = [Environment]::OSVersion.Version.Build
    if ($build -ge 14393) {
        return 'pnputil'
    }
    $module.FailJson("Neither Export-WindowsDriver nor pnputil /export-driver is available on this Windows (build $build)")
}

function Export-DriverPackage {
    param([string]$Method, [string]$Directory)

    if ($Method -eq 'export_windowsdriver') {
        $null = Export-WindowsDriver -Online -Destination $Directory
        return
    }
    $pnputil = Join-Path -Path ([Environment]::SystemDirectory) -ChildPath 'pnputil.exe'
    $result = Run-Command -command "`"$pnputil`" /export-driver * `"$Directory`""
    if ($result.rc -ne 0) {
        # Thrown, not FailJson: the caller's catch reports it with the destination.
        throw ("pnputil /export-driver failed with exit code {0}: {1} {2}" -f
            $result.rc, "$($result.stdout)".Trim(), "$($result.stderr)".Trim())
    }
}

function Write-Manifest {
    param([string]$Path, [string]$Method, $Drivers)

    $manifest = [ordered]@{
        format = 1
        computer = [Environment]::MachineName
        exported_at = [DateTime]::UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", [Globalization.CultureInfo]::InvariantCulture)
        method = $Method
        drivers = @($Drivers)
    }
    $utf8 = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false
    [IO.File]::WriteAllText($Path, (ConvertTo-Json -InputObject $manifest -Depth 5), $utf8)
}

function Remove-Tree {
    param([string]$Path)

    if (Test-Path -LiteralPath $Path) {
        Remove-Item -LiteralPath $Path -Recurse -Force
    }
}

function Publish-Export {
    # Complete export first, then swap it in: the old export stays until the new one is whole.
    param([string]$Method, $Drivers)

    $partial = "$destination.partial"
    $previous = "$destination.previous"
    Remove-Tree -Path $partial
    Remove-Tree -Path $previous
    $null = New-Item -Path $partial -ItemType Directory -Force
    Export-DriverPackage -Method $Method -Directory $partial
    Write-Manifest -Path (Join-Path -Path $partial -ChildPath $manifestName) -Method $Method -Drivers $Drivers
    if (Test-Path -LiteralPath $destination) {
        Move-Item -LiteralPath $destination -Destination $previous
    }
    Move-Item -LiteralPath $partial -Destination $destination
    Remove-Tree -Path $previous
}

function Publish-Archive {
    # ZipFile.CreateFromDirectory: https://learn.microsoft.com/dotnet/api/system.io.compression.zipfile.createfromdirectory
    Add-Type -AssemblyName System.IO.Compression.FileSystem
    $parent = Split-Path -Path $archivePath -Parent
    if ($parent -and -not (Test-Path -LiteralPath $parent)) {
        $null = New-Item -Path $parent -ItemType Directory -Force
    }
    $partial = "$archivePath.partial"
    Remove-Tree -Path $partial
    [IO.Compression.ZipFile]::CreateFromDirectory($destination, $partial)
    Remove-Tree -Path $archivePath
    Move-Item -LiteralPath $partial -Destination $archivePath
}

# ---------------------------------------------------------------------------
# Main

try {
    $drivers = Get-ThirdPartyDriver
}
catch {
    $module.FailJson("Listing the third-party drivers with Get-WindowsDriver -Online failed: $($_.Exception.Message)", $_)
}
$module.Result.drivers = $drivers
$module.Result.destination = $destination
$module.Result.changed = $false
if ($module.Params.state -eq 'inventory') {
    $module.ExitJson()
}

$manifestPath = Join-Path -Path $destination -ChildPath $manifestName
$module.Result.manifest_path = $manifestPath
$module.Result.archive_path = $archivePath
$previousManifest = Read-Manifest -Path $manifestPath
$before = if ($null -ne $previousManifest) { Get-IdentityLine -Drivers $previousManifest.drivers } else { @() }
$after = Get-IdentityLine -Drivers $drivers
$exportCurrent = ($null -ne $previousManifest) -and (($before -join "`n") -eq ($after -join "`n"))
$archiveMissing = $archivePath -and -not (Test-Path -LiteralPath $archivePath -PathType Leaf)

$module.Diff.before = @{ drivers = $before }
$module.Diff.after = @{ drivers = $after }
$module.Result.exported = -not $exportCurrent
$module.Result.archived = [bool]((-not $exportCurrent -and $archivePath) -or $archiveMissing)
if ($exportCurrent -and -not $archiveMissing) {
    $module.ExitJson()
}

$module.Result.changed = $true
$method = Resolve-ExportMethod -Requested $module.Params.method
$module.Result.method = $method
if ($module.CheckMode) {
    $module.ExitJson()
}

try {
    if (-not $exportCurrent) {
        Publish-Export -Method $method -Drivers $drivers
    }
    if ($archivePath) {
        Publish-Archive
    }
}
catch {
    $module.FailJson("Exporting the drivers to '$destination' failed: $($_.Exception.Message)", $_)
}
$module.ExitJson()
