#!powershell

# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#Requires -Module Ansible.ModuleUtils.CommandUtil

# Host side of winimage.generalize.winpe_stage. The action plugin (plugins/action/winpe_stage.py)
# validates, renders the WinPE files and the bcdedit steps (plugins/module_utils/winpe.py) and
# decides; this module performs one `operation` per call:
#
#   inspect  the staging state: state.json, staged files, whether the BCD entries still exist and
#            the one-time boot sequence still points at ours, firmware (from the {current} loader's
#            path), the source boot.wim (read-only)
#   apply    stage: copy the ADK WinPE image, write the rendered files into it (DISM /Mount-Image,
#            /Unmount-Image /Commit), copy boot.sdi, write the run's marker, create the RAM-disk
#            BCD entries and the one-time boot sequence, record state.json
#   remove   undo everything: BCD entries (by recorded id and by description), staging folder,
#            target marker
#
# `stage` (the default) is the action plugin's own operation and is refused here.
# Secrets: share_password, secret_files and credential_verifier are no_log; secret_files are
# written only inside the mounted boot.wim, the verifier only to credential.verifier (both
# deleted by WinPE before it captures). No result carries them.
#
# Microsoft documentation: DISM /Mount-Image and /Unmount-Image
# (https://learn.microsoft.com/windows-hardware/manufacture/desktop/dism-image-management-command-line-options-s14),
# WinPE mount and customize (https://learn.microsoft.com/windows-hardware/manufacture/desktop/winpe-mount-and-customize),
# BCDEdit /create, /set, /delete, /bootsequence
# (https://learn.microsoft.com/windows-hardware/drivers/devtest/bcdedit--bootsequence),
# RAM-disk boot of WinPE from a hard drive
# (https://learn.microsoft.com/previous-versions/windows/it-pro/windows-8.1-and-8/hh825083(v=win.10)).

$spec = @{
    options = @{
        state = @{ type = 'str'; default = 'present'; choices = @('present', 'absent') }
        boot_wim = @{ type = 'str' }
        boot_wim_index = @{ type = 'int'; default = 1 }
        boot_sdi = @{ type = 'str' }
        target = @{ type = 'str'; default = 'share'; choices = @('share', 'volume') }
        share = @{ type = 'str' }
        share_username = @{ type = 'str' }
        share_password = @{ type = 'str'; no_log = $true }
        share_drive = @{ type = 'str'; default = 'N:' }
        target_volume = @{ type = 'str' }
        dest = @{ type = 'str' }
        name = @{ type = 'str' }
        description = @{ type = 'str' }
        compression = @{ type = 'str'; choices = @('none', 'fast', 'max', 'recovery') }
        exclusions = @{
            type = 'list'
            elements = 'str'
            default = @(
                '\$ntfs.log', '\hiberfil.sys', '\pagefile.sys', '\swapfile.sys', '\System Volume Information',
                '\RECYCLER', '\$Recycle.Bin', '\Windows\CSC', '\$WinREAgent'
            )
        }
        check_integrity = @{ type = 'bool'; default = $false }
        verify = @{ type = 'bool'; default = $false }
        scratch_dir = @{ type = 'str' }
        on_failure = @{ type = 'str'; default = 'shutdown'; choices = @('shutdown', 'stay') }
        operation = @{ type = 'str'; default = 'stage'; choices = @('stage', 'inspect', 'apply', 'remove') }
        plan = @{ type = 'dict' }
        secret_files = @{ type = 'dict'; no_log = $true }
        credential_verifier = @{ type = 'str'; no_log = $true }
    }
    required_if = @(, @('state', 'present', @('boot_wim', 'dest', 'name')))
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$ErrorActionPreference = 'Stop'

$systemDrive = $env:SystemDrive
$staging = Join-Path -Path ($systemDrive + '\') -ChildPath 'winimage-winpe'
$stateFile = Join-Path -Path $staging -ChildPath 'state.json'
$verifierFile = Join-Path -Path $staging -ChildPath 'credential.verifier'
$stagedWim = Join-Path -Path $staging -ChildPath 'boot.wim'
$stagedSdi = Join-Path -Path $staging -ChildPath 'boot.sdi'
$mountDir = Join-Path -Path $staging -ChildPath 'mount'
$bcdDescription = 'winimage.generalize WinPE capture'
$guidPattern = '\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}'

# ---------------------------------------------------------------------------
# Helpers

function Invoke-Tool {
    # Run a command line; fail the module with its output unless -AllowFailure.
    param([string]$CommandLine, [string]$What, [switch]$AllowFailure)

    $run = Run-Command -command $CommandLine
    if ($run.rc -ne 0 -and -not $AllowFailure) {
        $output = (@($run.stdout, $run.stderr) -join "`n").Trim()
        throw ('{0} failed (exit code {1}): {2}' -f $What, $run.rc, $output)
    }
    $run
}

function Read-StagingState {
    # state.json as a dictionary, $null when the machine is not staged.
    if (-not (Test-Path -LiteralPath $stateFile -PathType Leaf)) {
        return $null
    }
    [Ansible.Basic.AnsibleModule]::FromJson((Get-Content -LiteralPath $stateFile -Raw))
}

function Test-BcdEntry {
    param([string]$Id)

    if (-not $Id) {
        return $false
    }
    (Invoke-Tool -CommandLine ('bcdedit.exe /enum {0}' -f $Id) -What 'bcdedit /enum' -AllowFailure).rc -eq 0
}

function Get-Firmware {
    # The running loader is winload.efi on UEFI and winload.exe on BIOS; GUID-free, language-free.
    $current = Invoke-Tool -CommandLine 'bcdedit.exe /enum {current}' -What 'bcdedit /enum {current}' -AllowFailure
    if ($current.stdout -match 'winload\.efi') {
        return 'efi'
    }
    if ($current.stdout -match 'winload\.exe') {
        return 'bios'
    }
    $null
}

function Find-OwnBcdEntry {
    # Identifiers of every BCD object carrying our description (the first GUID of its block),
    # so entries are found even when state.json is gone.
    $all = Invoke-Tool -CommandLine 'bcdedit.exe /enum all' -What 'bcdedit /enum all' -AllowFailure
    foreach ($block in ($all.stdout -split '(?:\r?\n){2,}')) {
        if ($block.Contains($bcdDescription) -and $block -match $guidPattern) {
            $Matches[0]
        }
    }
}

function Remove-BcdEntry {
    param([string]$Id)

    $null = Invoke-Tool -CommandLine ('bcdedit.exe /bootsequence {0} /remove' -f $Id) -What 'bcdedit /bootsequence /remove' -AllowFailure
    $null = Invoke-Tool -CommandLine ('bcdedit.exe /delete {0}' -f $Id) -What 'bcdedit /delete' -AllowFailure
}

function Dismount-StaleImage {
    # A mount left by an interrupted run: discard it, then remove the folder.
    if (Test-Path -LiteralPath $mountDir) {
        $null = Invoke-Tool -CommandLine ('dism.exe /Unmount-Image /MountDir:"{0}" /Discard' -f $mountDir) -What 'DISM /Unmount-Image' -AllowFailure
        Remove-Item -LiteralPath $mountDir -Recurse -Force -ErrorAction SilentlyContinue
    }
}

function Write-TextFile {
    param([string]$Path, [string]$Text, [string]$Encoding = 'ascii')

    $parent = Split-Path -Path $Path -Parent
    if (-not (Test-Path -LiteralPath $parent)) {
        $null = New-Item -Path $parent -ItemType Directory -Force
    }
    # UnicodeEncoding(bigEndian = $false, byteOrderMark = $true)
    $encoder = New-Object -TypeName System.Text.ASCIIEncoding
    if ($Encoding -eq 'utf-16') {
        $encoder = New-Object -TypeName System.Text.UnicodeEncoding -ArgumentList @($false, $true)
    }
    [System.IO.File]::WriteAllText($Path, $Text, $encoder)
}

function Get-SourceIdentity {
    param([string]$Path)

    if (-not $Path -or -not (Test-Path -LiteralPath $Path -PathType Leaf)) {
        return @{ exists = $false; size = $null; modified = $null }
    }
    $item = Get-Item -LiteralPath $Path -Force
    @{ exists = $true; size = $item.Length; modified = $item.LastWriteTimeUtc.ToString('o') }
}

function Get-TargetMarkerDir {
    param([string]$Volume)

    Join-Path -Path ($Volume + '\') -ChildPath 'winimage-capture-target'
}

# ---------------------------------------------------------------------------
# inspect

function Invoke-Inspect {
    $state = Read-StagingState
    $loaderId = $null
    $deviceId = $null
    if ($null -ne $state) {
        $loaderId = $state.loader_id
        $deviceId = $state.device_id
    }
    $bootmgr = Invoke-Tool -CommandLine 'bcdedit.exe /enum {bootmgr}' -What 'bcdedit /enum {bootmgr}' -AllowFailure
    $module.Result.staged = $null -ne $state
    $module.Result.state = $state
    $module.Result.boot_wim_present = Test-Path -LiteralPath $stagedWim -PathType Leaf
    $module.Result.verifier_present = Test-Path -LiteralPath $verifierFile -PathType Leaf
    $module.Result.loader_exists = Test-BcdEntry -Id $loaderId
    $module.Result.device_exists = Test-BcdEntry -Id $deviceId
    $module.Result.bootsequence_set = [bool]($loaderId -and $bootmgr.stdout.Contains($loaderId))
    $module.Result.system_drive = $systemDrive
    $module.Result.firmware = Get-Firmware
    $module.Result.boot_wim_source = Get-SourceIdentity -Path $module.Params.boot_wim
    $module.Result.changed = $false
}

# ---------------------------------------------------------------------------
# apply

function Test-VerifierMatch {
    param([string]$Expected)

    if (-not $Expected) {
        return $true  # target volume: no credentials staged
    }
    if (-not (Test-Path -LiteralPath $verifierFile -PathType Leaf)) {
        return $false
    }
    (Get-Content -LiteralPath $verifierFile -Raw).Trim() -ceq $Expected
}

function Select-BootSdi {
    # The given boot.sdi, else the first candidate the action plugin listed that exists.
    param([object[]]$Candidates)

    if ($module.Params.boot_sdi) {
        if (-not (Test-Path -LiteralPath $module.Params.boot_sdi -PathType Leaf)) {
            throw "boot_sdi $($module.Params.boot_sdi) does not exist"
        }
        return $module.Params.boot_sdi
    }
    foreach ($candidate in $Candidates) {
        $expanded = [Environment]::ExpandEnvironmentVariables($candidate)
        if (Test-Path -LiteralPath $expanded -PathType Leaf) {
            return $expanded
        }
    }
    throw ('no boot.sdi found at {0}; set boot_sdi to the ADK file ' +
        '...\Windows Preinstallation Environment\amd64\Media\Boot\boot.sdi') -f (@($Candidates) -join ', ')
}

function Update-WinPEImage {
    # Copy the ADK image, mount it, write the rendered files, commit. Returns the winload path.
    param($Plan)

    $partial = $stagedWim + '.partial'
    Remove-Item -LiteralPath $partial -Force -ErrorAction SilentlyContinue
    Copy-Item -LiteralPath $module.Params.boot_wim -Destination $partial
    (Get-Item -LiteralPath $partial).IsReadOnly = $false
    $null = New-Item -Path $mountDir -ItemType Directory -Force
    $null = Invoke-Tool -What 'DISM /Mount-Image' -CommandLine ('dism.exe /Mount-Image /ImageFile:"{0}" /Index:{1} /MountDir:"{2}"' -f
        $partial, $module.Params.boot_wim_index, $mountDir)
    $committed = $false
    try {
        if (Test-Path -LiteralPath (Join-Path -Path $mountDir -ChildPath 'Windows\System32\winpeshl.ini')) {
            throw ('boot_wim has Windows\System32\winpeshl.ini, a custom shell that would skip startnet.cmd and ' +
                'the capture; use the plain winpe.wim of the ADK WinPE add-on')
        }
        $winload = $null
        foreach ($candidate in $Plan.winload_candidates) {
            if (Test-Path -LiteralPath (Join-Path -Path $mountDir -ChildPath $candidate.TrimStart('\'))) {
                $winload = $candidate
                break
            }
        }
        if (-not $winload) {
            throw ('boot_wim holds no boot loader at {0}; is it a WinPE image of the same architecture and ' +
                'firmware type as this machine?') -f (@($Plan.winload_candidates) -join ' or ')
        }
        foreach ($relative in $Plan.public_files.Keys) {
            $encoding = 'ascii'
            if ($relative -like '*.ini') {
                $encoding = $Plan.config_encoding
            }
            Write-TextFile -Path (Join-Path -Path $mountDir -ChildPath $relative) -Text $Plan.public_files[$relative] -Encoding $encoding
        }
        if ($null -ne $module.Params.secret_files) {
            foreach ($relative in $module.Params.secret_files.Keys) {
                Write-TextFile -Path (Join-Path -Path $mountDir -ChildPath $relative) -Text $module.Params.secret_files[$relative]
            }
        }
        $null = Invoke-Tool -What 'DISM /Unmount-Image /Commit' -CommandLine ('dism.exe /Unmount-Image /MountDir:"{0}" /Commit' -f $mountDir)
        $committed = $true
    }
    finally {
        if (-not $committed) {
            $null = Invoke-Tool -What 'DISM /Unmount-Image /Discard' -AllowFailure -CommandLine ('dism.exe /Unmount-Image /MountDir:"{0}" /Discard' -f $mountDir)
            Remove-Item -LiteralPath $partial -Force -ErrorAction SilentlyContinue
        }
        Remove-Item -LiteralPath $mountDir -Recurse -Force -ErrorAction SilentlyContinue
    }
    Move-Item -LiteralPath $partial -Destination $stagedWim -Force
    $winload
}

function New-BcdEntry {
    # Run the planned bcdedit steps, reading each new identifier from the /create output.
    # On failure the entries made so far are deleted again.
    param([object[]]$Steps, [string]$Winload)

    $ids = @{ device = $null; loader = $null }
    $executed = [System.Collections.Generic.List[string]]@()
    try {
        foreach ($step in $Steps) {
            $command = $step.command.Replace('@WINLOAD@', $Winload)
            if ($ids.device) { $command = $command.Replace('@DEVICE@', $ids.device) }
            if ($ids.loader) { $command = $command.Replace('@LOADER@', $ids.loader) }
            $run = Invoke-Tool -CommandLine $command -What $command
            $executed.Add($command)
            if ($step.capture) {
                if ($run.stdout -notmatch $guidPattern) {
                    throw "$command printed no identifier: $($run.stdout.Trim())"
                }
                $ids[$step.capture] = $Matches[0]
            }
        }
    }
    catch {
        foreach ($id in @($ids.loader, $ids.device)) {
            if ($id) {
                Remove-BcdEntry -Id $id
            }
        }
        throw
    }
    @{ device = $ids.device; loader = $ids.loader; commands = $executed.ToArray() }
}

function Invoke-Apply {
    $plan = $module.Params.plan
    if ($null -eq $plan) {
        $module.FailJson('operation apply needs plan (set by the winimage.generalize.winpe_stage action plugin)')
    }
    $state = Read-StagingState
    $module.Result.token = $plan.token
    $module.Result.staging_dir = $staging
    if (-not $plan.restage -and (Test-VerifierMatch -Expected $module.Params.credential_verifier)) {
        $module.Result.changed = $false
        $module.Result.loader_id = $state.loader_id
        $module.Result.device_id = $state.device_id
        $module.Result.bcd_commands = @()
        return
    }
    $module.Result.changed = $true
    if ($module.CheckMode) {
        return
    }

    # Undo the previous staging (entries, stale mount, old markers) before staging again.
    if ($null -ne $state) {
        foreach ($id in @($state.loader_id, $state.device_id)) {
            if ($id) {
                Remove-BcdEntry -Id $id
            }
        }
        if ($state.target_volume) {
            Remove-Item -Path (Join-Path -Path (Get-TargetMarkerDir -Volume $state.target_volume) -ChildPath '*.target') -Force -ErrorAction SilentlyContinue
        }
    }
    Dismount-StaleImage
    $null = New-Item -Path $staging -ItemType Directory -Force
    Remove-Item -Path (Join-Path -Path $staging -ChildPath '*.marker') -Force -ErrorAction SilentlyContinue
    Remove-Item -LiteralPath $stateFile, $verifierFile -Force -ErrorAction SilentlyContinue

    $winload = Update-WinPEImage -Plan $plan
    Copy-Item -LiteralPath (Select-BootSdi -Candidates $plan.boot_sdi_candidates) -Destination $stagedSdi -Force
    (Get-Item -LiteralPath $stagedSdi).IsReadOnly = $false
    Write-TextFile -Path (Join-Path -Path $staging -ChildPath ('{0}.marker' -f $plan.token)) -Text ''
    if ($module.Params.target -eq 'volume') {
        $markerDir = Get-TargetMarkerDir -Volume $module.Params.target_volume
        Remove-Item -Path (Join-Path -Path $markerDir -ChildPath '*.target') -Force -ErrorAction SilentlyContinue
        Write-TextFile -Path (Join-Path -Path $markerDir -ChildPath ('{0}.target' -f $plan.token)) -Text ''
    }
    if ($module.Params.credential_verifier) {
        Write-TextFile -Path $verifierFile -Text $module.Params.credential_verifier
    }
    $bcd = New-BcdEntry -Steps $plan.bcd -Winload $winload

    $record = [ordered]@{
        schema = 1
        token = $plan.token
        salt = $plan.salt
        config_digest = $plan.config_digest
        loader_id = $bcd.loader
        device_id = $bcd.device
        target_volume = $(if ($module.Params.target -eq 'volume') { $module.Params.target_volume } else { $null })
        staged_at = [DateTime]::UtcNow.ToString('o')
        winload = $winload
    }
    Write-TextFile -Path $stateFile -Text ([Ansible.Basic.AnsibleModule]::ToJson($record))
    $module.Result.loader_id = $bcd.loader
    $module.Result.device_id = $bcd.device
    $module.Result.winload = $winload
    $module.Result.bcd_commands = $bcd.commands
}

# ---------------------------------------------------------------------------
# remove

function Invoke-Remove {
    $state = Read-StagingState
    $ids = [System.Collections.Generic.List[string]]@()
    if ($null -ne $state) {
        foreach ($id in @($state.loader_id, $state.device_id)) {
            if ($id) { $ids.Add($id) }
        }
    }
    foreach ($id in @(Find-OwnBcdEntry)) {
        if ($id -and -not $ids.Contains($id)) { $ids.Add($id) }
    }
    $existing = @($ids | Where-Object { Test-BcdEntry -Id $_ })
    $markerDirs = @()
    if ($null -ne $state -and $state.target_volume) {
        $markerDirs = @(Get-TargetMarkerDir -Volume $state.target_volume | Where-Object { Test-Path -LiteralPath $_ })
    }
    $module.Result.removed_bcd_entries = $existing
    $module.Result.changed = ($existing.Count -gt 0) -or (Test-Path -LiteralPath $staging) -or ($markerDirs.Count -gt 0)
    if ($module.CheckMode -or -not $module.Result.changed) {
        return
    }
    foreach ($id in $existing) {
        Remove-BcdEntry -Id $id
    }
    Dismount-StaleImage
    if (Test-Path -LiteralPath $staging) {
        Remove-Item -LiteralPath $staging -Recurse -Force
    }
    foreach ($dir in $markerDirs) {
        Remove-Item -Path (Join-Path -Path $dir -ChildPath '*.target') -Force -ErrorAction SilentlyContinue
        if (-not (Get-ChildItem -LiteralPath $dir -Force)) {
            Remove-Item -LiteralPath $dir -Force
        }
    }
}

try {
    switch ($module.Params.operation) {
        'inspect' { Invoke-Inspect }
        'apply' { Invoke-Apply }
        'remove' { Invoke-Remove }
        default {
            $module.FailJson('operation stage runs through the winimage.generalize.winpe_stage action plugin; ' +
                'call the module by that name without operation')
        }
    }
}
catch {
    $module.FailJson("winpe_stage $($module.Params.operation): $($_.Exception.Message)", $_)
}
$module.ExitJson()
