#!powershell

# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#Requires -Module Ansible.ModuleUtils.CommandUtil

# Host side of winimage.generalize.dism_capture. The action plugin (plugins/action/dism_capture.py)
# decides; this module reports what it sees and runs what it is told, one `operation` per call:
#
#   inspect   does src exist, does dest exist, its image names and WIM header, .swm parts,
#             partial files of interrupted runs (read-only)
#   describe  index, size, SHA-256 and image details of the image named `name` in dest (read-only)
#   run       write the WimScript.ini, run the planned DISM command lines against a temporary
#             name, then give the result its final name: Move-Item without -Force for a new file
#             (fails rather than overwrite), File.Replace for an append (the copy that received
#             the new index replaces the original in one step)
#
# `capture` (the default) is the action plugin's own operation and is refused here.
# DISM command-line options: https://learn.microsoft.com/windows-hardware/manufacture/desktop/dism-image-management-command-line-options-s14
# Get-WindowsImage: https://learn.microsoft.com/powershell/module/dism/get-windowsimage

$spec = @{
    options = @{
        src = @{ type = 'str'; required = $true }
        dest = @{ type = 'str'; required = $true }
        name = @{ type = 'str'; required = $true }
        description = @{ type = 'str' }
        compression = @{ type = 'str'; choices = @('none', 'fast', 'max', 'recovery') }
        append = @{ type = 'bool'; default = $false }
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
        split_size_mb = @{ type = 'int' }
        operation = @{ type = 'str'; default = 'capture'; choices = @('capture', 'inspect', 'describe', 'run') }
        plan = @{ type = 'dict' }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$ErrorActionPreference = 'Stop'

$src = $module.Params.src
$dest = $module.Params.dest
$imageName = $module.Params.name
$destDir = [System.IO.Path]::GetDirectoryName($dest)
$destStem = [System.IO.Path]::GetFileNameWithoutExtension($dest)
$logTailLines = 40

# DismImageInfo.Architecture (PROCESSOR_ARCHITECTURE numbers) or its printed name -> the facts
# schema's name; the same table as module_utils/dism.py ARCHITECTURES / ARCHITECTURE_NAMES.
$architectureNames = @{
    '0' = 'x86'; '5' = 'arm'; '6' = 'ia64'; '9' = 'amd64'; '12' = 'arm64'
    'x86' = 'x86'; 'arm' = 'arm'; 'ia64' = 'ia64'; 'x64' = 'amd64'; 'amd64' = 'amd64'; 'arm64' = 'arm64'
}

function ConvertTo-PlainValue {
    # Enum and date values as text, collections as string lists, so they serialize predictably.
    param($Value)

    if ($null -eq $Value) {
        return $null
    }
    if ($Value -is [Enum]) {
        return $Value.ToString()
    }
    if ($Value -is [DateTime]) {
        return $Value.ToUniversalTime().ToString('o')
    }
    if ($Value -is [string] -or $Value -is [ValueType]) {
        return $Value
    }
    if ($Value -is [System.Collections.IEnumerable]) {
        return , @($Value | ForEach-Object { "$_" })
    }
    "$Value"
}

function Get-ImageList {
    # Index and name of every image in a WIM (Get-WindowsImage -ImagePath).
    param([string]$Path)

    , @(Get-WindowsImage -ImagePath $Path | ForEach-Object {
            @{ index = [int]$_.ImageIndex; name = [string]$_.ImageName }
        })
}

function Get-ArchitectureName {
    param($Value)

    if ($null -eq $Value) {
        return $null
    }
    $text = "$Value".ToLowerInvariant()
    if ($architectureNames.ContainsKey($text)) {
        return $architectureNames[$text]
    }
    try {
        $number = "$([int]$Value)"
        if ($architectureNames.ContainsKey($number)) {
            return $architectureNames[$number]
        }
    }
    catch {
        $null = $_  # not a number: keep the text
    }
    $text
}

function Get-ImageDetail {
    # image_info in the shape winimage.generalize.wim_capture returns, from Get-WindowsImage -Index
    # (its properties mirror the DISM API DismImageInfo structure).
    param([string]$Path, [int]$Index)

    $image = Get-WindowsImage -ImagePath $Path -Index $Index
    $value = @{}
    foreach ($property in $image.PSObject.Properties) {
        $value[$property.Name] = ConvertTo-PlainValue -Value $property.Value
    }
    $languages = @($value['Languages'] | Where-Object { $_ })
    $defaultLanguage = $null
    if ($null -ne $value['DefaultLanguageIndex'] -and $languages.Count -gt [int]$value['DefaultLanguageIndex']) {
        $defaultLanguage = $languages[[int]$value['DefaultLanguageIndex']]
    }
    @{
        index = $value['ImageIndex']
        name = $value['ImageName']
        description = $value['ImageDescription']
        dir_count = $value['DirectoryCount']
        file_count = $value['FileCount']
        total_bytes = $value['ImageSize']
        creation_time = $value['CreatedTime']
        modified_time = $value['ModifiedTime']
        windows = @{
            architecture = Get-ArchitectureName -Value $image.Architecture
            product_name = $value['ProductName']
            edition_id = $value['EditionId']
            installation_type = $value['InstallationType']
            product_type = $value['ProductType']
            version = @{ major = $value['MajorVersion']; minor = $value['MinorVersion']; build = $value['Build'] }
            languages = $languages
            default_language = $defaultLanguage
            system_root = $value['SystemRoot']
        }
    }
}

function Get-FileSummary {
    param([string]$Path)

    @{
        path = $Path
        size = (Get-Item -LiteralPath $Path -Force).Length
        sha256 = (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash.ToLowerInvariant()
    }
}

function Get-PartFile {
    # The .swm files DISM writes for a WIM named STEM: STEM.swm, STEM2.swm, STEM3.swm ... and no others
    # (a wildcard alone would also match the parts of STEMX.wim).
    param([string]$Stem)

    $pattern = '^{0}\d*\.swm$' -f [regex]::Escape($Stem)
    Get-ChildItem -LiteralPath $destDir -Filter ('{0}*.swm' -f $Stem) -File -Force -ErrorAction SilentlyContinue |
        Where-Object { $_.Name -match $pattern } | Sort-Object -Property Name
}

function Get-SplitPart {
    # Existing .swm parts of dest: NAME.swm, NAME2.swm ... (Get-ChildItem -Filter uses file system wildcards).
    param([string]$Stem)

    if (-not (Test-Path -LiteralPath $destDir -PathType Container)) {
        return , @()
    }
    , @(Get-PartFile -Stem $Stem | ForEach-Object { $_.FullName })
}

function Read-WimHeader {
    # The first 208 bytes (the WIM header) as base64; the action plugin decodes the flags.
    param([string]$Path)

    $stream = [System.IO.File]::OpenRead($Path)
    try {
        $buffer = New-Object -TypeName byte[] -ArgumentList 208
        $read = $stream.Read($buffer, 0, $buffer.Length)
        [Convert]::ToBase64String($buffer, 0, $read)
    }
    finally {
        $stream.Dispose()
    }
}

function Get-DescribedImage {
    # The documented result keys for the image named $imageName in $Path.
    param([string]$Path)

    $images = Get-ImageList -Path $Path
    $match = @($images | Where-Object { $_.name -eq $imageName })
    if ($match.Count -eq 0) {
        $module.FailJson(("{0} holds no image named '{1}' (names: {2})" -f $Path, $imageName,
                (@($images | ForEach-Object { $_.name }) -join ', ')))
    }
    $file = Get-FileSummary -Path $Path
    $parts = [System.Collections.Generic.List[object]]@()
    $partPaths = Get-SplitPart -Stem ([System.IO.Path]::GetFileNameWithoutExtension($Path))
    foreach ($partPath in $partPaths) {
        $parts.Add((Get-FileSummary -Path $partPath))
    }
    @{
        dest = $Path
        index = $match[0].index
        size = $file.size
        sha256 = $file.sha256
        image_info = Get-ImageDetail -Path $Path -Index $match[0].index
        images = $images
        parts = $parts.ToArray()
    }
}

function Get-LogTail {
    param([string]$Path)

    if (-not $Path -or -not (Test-Path -LiteralPath $Path -PathType Leaf)) {
        return ''
    }
    (Get-Content -LiteralPath $Path -Tail $logTailLines) -join "`n"
}

function Get-TempPart {
    # .swm parts written under the temporary stem by this run's /Split-Image.
    param($Split)

    if (-not $Split) {
        return , @()
    }
    , @(Get-PartFile -Stem $Split.temp_stem | ForEach-Object { $_.FullName })
}

function Remove-PlanFile {
    # Temporary and intermediate files of this run only (never dest or existing parts).
    param([object[]]$Paths)

    foreach ($path in $Paths) {
        if ($path -and (Test-Path -LiteralPath $path)) {
            Remove-Item -LiteralPath $path -Force -ErrorAction SilentlyContinue
        }
    }
}

# ---------------------------------------------------------------------------
# Operations

function Invoke-Inspect {
    $state = @{
        src_is_dir = Test-Path -LiteralPath $src -PathType Container
        dest_dir_exists = [bool]($destDir -and (Test-Path -LiteralPath $destDir -PathType Container))
        dest_exists = Test-Path -LiteralPath $dest
        dest_is_file = Test-Path -LiteralPath $dest -PathType Leaf
        images = @()
        images_error = $null
        header = $null
        split_parts = Get-SplitPart -Stem $destStem
        leftovers = @()
    }
    if ($state.dest_dir_exists) {
        $state.leftovers = @(Get-ChildItem -LiteralPath $destDir -Filter ('{0}.partial-*' -f $destStem) -Force |
                ForEach-Object { $_.FullName })
    }
    if ($state.dest_is_file) {
        $state.header = Read-WimHeader -Path $dest
        try {
            $state.images = Get-ImageList -Path $dest
        }
        catch {
            $state.images_error = $_.Exception.Message
        }
    }
    foreach ($key in $state.Keys) {
        $module.Result[$key] = $state[$key]
    }
    $module.Result.changed = $false
}

function Invoke-Describe {
    if (-not (Test-Path -LiteralPath $dest -PathType Leaf)) {
        $module.FailJson("dest $dest does not exist")
    }
    $described = Get-DescribedImage -Path $dest
    foreach ($key in $described.Keys) {
        $module.Result[$key] = $described[$key]
    }
    $module.Result.changed = $false
}

function Write-ConfigFile {
    # ASCII when the text is ASCII, else UTF-16 LE with a byte order mark (the action plugin decides).
    param([string]$Path, [string]$Text, [string]$Encoding)

    # UnicodeEncoding(bigEndian = $false, byteOrderMark = $true)
    $encoder = New-Object -TypeName System.Text.ASCIIEncoding
    if ($Encoding -eq 'utf-16') {
        $encoder = New-Object -TypeName System.Text.UnicodeEncoding -ArgumentList @($false, $true)
    }
    [System.IO.File]::WriteAllText($Path, $Text, $encoder)
}

function Rename-SplitPart {
    # NAME.partial-T.swm, NAME.partial-T2.swm ... -> NAME.swm, NAME2.swm ...; Rename-Item never overwrites.
    param($Split)

    # Returns the final paths, so a failure afterwards can take back exactly these files.
    $renamed = [System.Collections.Generic.List[string]]@()
    foreach ($part in @(Get-PartFile -Stem $Split.temp_stem)) {
        $finalName = $Split.final_stem + $part.Name.Substring($Split.temp_stem.Length)
        Rename-Item -LiteralPath $part.FullName -NewName $finalName
        $renamed.Add((Join-Path -Path $destDir -ChildPath $finalName))
    }
    , $renamed.ToArray()
}

function Invoke-Run {
    $plan = $module.Params.plan
    if ($null -eq $plan) {
        $module.FailJson('operation run needs plan (set by the winimage.generalize.dism_capture action plugin)')
    }
    $temp = $plan.temp
    $cleanup = @($temp, $plan.config_file, $plan.log_path) + @($plan.intermediate)
    if ($plan.action -eq 'capture' -and (Test-Path -LiteralPath $dest)) {
        $module.FailJson("dest $dest appeared after it was inspected; it is never overwritten")
    }
    if ($plan.action -eq 'append') {
        # DISM appends in place; a failure half way could damage the published file, so the
        # new index goes into a copy that replaces the original only after DISM succeeded.
        Copy-Item -LiteralPath $dest -Destination $temp
    }
    Write-ConfigFile -Path $plan.config_file -Text $plan.config_text -Encoding $plan.config_encoding

    $commands = [System.Collections.Generic.List[string]]@()
    $timings = @{}
    foreach ($step in $plan.steps) {
        $commands.Add($step.command)
        $clock = [System.Diagnostics.Stopwatch]::StartNew()
        $run = Run-Command -command $step.command
        $timings[$step.what] = [Math]::Round($clock.Elapsed.TotalSeconds, 1)
        if ($run.rc -ne 0) {
            $logTail = Get-LogTail -Path $plan.log_path
            $output = @($run.stdout -split "`r?`n" | Where-Object { $_.Trim() } | Select-Object -Last 15) -join "`n"
            Remove-PlanFile -Paths ($cleanup + (Get-TempPart -Split $plan.split))
            $module.Result.commands = $commands.ToArray()
            $module.Result.rc = $run.rc
            $module.Result.log_tail = $logTail
            $module.Result.stdout_tail = $output
            $module.FailJson(("DISM {0} failed with exit code {1}; dest {2} is unchanged. DISM said: {3}" -f
                    $step.what, $run.rc, $dest, $output))
        }
    }
    Remove-PlanFile -Paths $plan.intermediate
    try {
        if ($plan.split) {
            $cleanup += Rename-SplitPart -Split $plan.split
        }
        if ($plan.action -eq 'append') {
            [System.IO.File]::Replace($temp, $dest, $null)
        }
        else {
            Move-Item -LiteralPath $temp -Destination $dest
        }
    }
    catch {
        Remove-PlanFile -Paths ($cleanup + (Get-TempPart -Split $plan.split))
        $module.Result.commands = $commands.ToArray()
        $module.FailJson(("DISM succeeded but {0} could not take its final name {1}; dest is unchanged: {2}" -f
                $temp, $dest, $_.Exception.Message), $_)
    }
    Remove-PlanFile -Paths @($plan.config_file, $plan.log_path)

    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    $described = Get-DescribedImage -Path $dest
    $timings['hash'] = [Math]::Round($clock.Elapsed.TotalSeconds, 1)
    foreach ($key in $described.Keys) {
        $module.Result[$key] = $described[$key]
    }
    $module.Result.action = $plan.action
    $module.Result.command = $commands[0]
    $module.Result.commands = $commands.ToArray()
    $module.Result.timings = $timings
    $module.Result.changed = $true
}

switch ($module.Params.operation) {
    'inspect' { Invoke-Inspect }
    'describe' { Invoke-Describe }
    'run' {
        if ($module.CheckMode) {
            $module.Result.changed = $true
        }
        else {
            Invoke-Run
        }
    }
    default {
        $module.FailJson('operation capture runs through the winimage.generalize.dism_capture action plugin; ' +
            'call the module by that name without operation')
    }
}
$module.ExitJson()
