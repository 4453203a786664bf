#!powershell

# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic

# The host-side steps of a sysprep /generalize run, one per `operation`. The action plugin of
# the same name (plugins/action/sysprep.py) runs them, polls, reads the logs, remediates and
# decides; this module reports data and performs the one step it is asked for:
#
#   status    image state, SysprepStatus, sysprep.exe processes, the scheduled task, rearm count
#   start     stage the answer file, merge the SetupComplete.cmd cleanup block, set the old
#             sysprep logs aside and start sysprep.exe from a SYSTEM scheduled task, so sysprep
#             outlives the WinRM session that started it
#   logs      the tail of the Panther logs as base64 bytes (UTF-16 or UTF-8: Python decodes)
#   cleanup   remove the staged answer file and the scheduled task
#   poweroff  shutdown.exe /s /t 5
#
# `generalize` (the default) is the action plugin's own operation and is refused here. The
# controller-only options (answer_file, timeout, poll_interval, max_retries, shutdown_timeout,
# remediate, cleanup_answer_file) are in $spec so task arguments validate the same way.

$spec = @{
    options = @{
        operation = @{
            type = 'str'
            default = 'generalize'
            choices = @('generalize', 'status', 'start', 'logs', 'cleanup', 'poweroff')
        }
        answer_file = @{ type = 'dict'; no_log = $true }
        answer_file_xml = @{ type = 'str'; no_log = $true }
        answer_file_path = @{ type = 'str'; default = '%WINDIR%\Temp\winimage\unattend.xml' }
        mode_vm = @{ type = 'bool'; default = $false }
        after = @{ type = 'str'; default = 'poweroff'; choices = @('poweroff', 'shutdown', 'quit') }
        timeout = @{ type = 'int'; default = 3600 }
        poll_interval = @{ type = 'int'; default = 15 }
        max_retries = @{ type = 'int'; default = 2 }
        shutdown_timeout = @{ type = 'int'; default = 600 }
        remediate = @{ type = 'bool'; default = $true }
        cleanup_answer_file = @{ type = 'bool'; default = $true }
        setupcomplete_script = @{ type = 'str' }
        log_max_bytes = @{ type = 'int'; default = 1048576 }
    }
    mutually_exclusive = @(, @('answer_file', 'answer_file_xml'))
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$ErrorActionPreference = 'Stop'

$taskName = 'winimage-sysprep'
$sysprepDir = Join-Path -Path $env:SystemRoot -ChildPath 'System32\Sysprep'
$sysprepExe = Join-Path -Path $sysprepDir -ChildPath 'sysprep.exe'
$sysprepPanther = Join-Path -Path $sysprepDir -ChildPath 'Panther'
$generalizedState = 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE'
# Task Scheduler: TASK_STATE_RUNNING, SCHED_S_TASK_HAS_NOT_RUN, SCHED_S_TASK_QUEUED
# https://learn.microsoft.com/windows/win32/taskschd/task-scheduler-error-and-success-constants
$taskStateRunning = 4
$taskHasNotRun = 0x00041303
$taskQueued = 0x00041325
$readErrors = [System.Collections.ArrayList]@()

# ---------------------------------------------------------------------------
# status

function Get-RegistryValue {
    param([string]$Path, [string]$Name)

    $key = Get-Item -LiteralPath $Path -ErrorAction SilentlyContinue
    if ($null -eq $key) {
        return $null
    }
    return $key.GetValue($Name, $null)
}

function Get-ImageState {
    # Windows Setup states: the registry value, else %WINDIR%\Setup\State\State.ini [State].
    # https://learn.microsoft.com/windows-hardware/manufacture/desktop/windows-setup-states
    $state = Get-RegistryValue -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State' -Name 'ImageState'
    if ($state) {
        return @{ value = [string]$state; source = 'registry' }
    }
    $ini = Join-Path -Path $env:SystemRoot -ChildPath 'Setup\State\State.ini'
    if (Test-Path -LiteralPath $ini -PathType Leaf) {
        foreach ($line in [System.IO.File]::ReadAllLines($ini)) {
            if ($line -match '^\s*ImageState\s*=\s*(\S+)') {
                return @{ value = $Matches[1]; source = 'state_ini' }
            }
        }
    }
    return @{ value = $null; source = $null }
}

function ConvertTo-NullableInt {
    param($Value)

    if ($null -eq $Value) {
        return $null
    }
    return [int64]$Value
}

function Get-SysprepProcessInfo {
    # Only one sysprep may run at a time (Sysprep process overview), so any instance matters.
    # https://learn.microsoft.com/powershell/module/microsoft.powershell.management/get-process
    foreach ($process in @(Get-Process -Name sysprep -ErrorAction SilentlyContinue)) {
        $started = $null
        try {
            $started = $process.StartTime.ToUniversalTime().ToString('o')
        }
        catch {
            $started = $null
        }
        @{ pid = $process.Id; started = $started }
    }
}

function Get-TaskScheduler {
    # Task Scheduler 2.0 scripting objects (Windows Vista and later, no ScheduledTasks module needed).
    # https://learn.microsoft.com/windows/win32/taskschd/taskservice
    $scheduler = New-Object -ComObject Schedule.Service
    $scheduler.Connect()
    return $scheduler
}

function Get-SysprepTask {
    param($Folder)

    try {
        return $Folder.GetTask($taskName)
    }
    catch {
        return $null
    }
}

function ConvertTo-TaskStateName {
    param([int]$State)

    # TASK_STATE enumeration: https://learn.microsoft.com/windows/win32/api/taskschd/ne-taskschd-task_state
    switch ($State) {
        1 { 'disabled' }
        2 { 'queued' }
        3 { 'ready' }
        4 { 'running' }
        default { 'unknown' }
    }
}

function Get-TaskInfo {
    $info = [ordered]@{ exists = $false; state = $null; state_code = $null; last_result = $null; last_run_time = $null }
    $task = Get-SysprepTask -Folder (Get-TaskScheduler).GetFolder('\')
    if ($null -ne $task) {
        $info.exists = $true
        $info.state_code = [int]$task.State
        $info.state = ConvertTo-TaskStateName -State $task.State
        $info.last_result = [int64]$task.LastTaskResult
        $lastRun = [DateTime]$task.LastRunTime
        # A task that never ran reports 1899-12-30.
        if ($lastRun.Year -gt 2000) {
            $info.last_run_time = $lastRun.ToUniversalTime().ToString('o')
        }
    }
    return $info
}

function Invoke-StatusRead {
    param([string]$What, [scriptblock]$Read)

    try {
        & $Read
    }
    catch {
        [void]$readErrors.Add("${What}: $($_.Exception.Message)")
    }
}

function Get-SysprepStatus {
    $status = [ordered]@{
        image_state = $null
        image_state_source = $null
        generalization_state = $null
        cleanup_state = $null
        sysprep_processes = @()
        task = $null
        remaining_rearm_count = $null
        skip_rearm = $null
        setuperr_bytes = $null
    }
    Invoke-StatusRead 'reading ImageState' {
        $state = Get-ImageState
        $status.image_state = $state.value
        $status.image_state_source = $state.source
    }
    # SysprepStatus is not documented on learn.microsoft.com: reported as read, never interpreted here.
    Invoke-StatusRead 'reading SysprepStatus' {
        $key = 'HKLM:\SYSTEM\Setup\Status\SysprepStatus'
        $status.generalization_state = ConvertTo-NullableInt (Get-RegistryValue -Path $key -Name 'GeneralizationState')
        $status.cleanup_state = ConvertTo-NullableInt (Get-RegistryValue -Path $key -Name 'CleanupState')
    }
    Invoke-StatusRead 'looking for sysprep.exe' {
        $status.sysprep_processes = @(Get-SysprepProcessInfo)
    }
    Invoke-StatusRead 'reading the scheduled task' {
        $status.task = Get-TaskInfo
    }
    # SoftwareLicensingService RemainingWindowsReArmCount (what slmgr /dlv shows):
    # https://learn.microsoft.com/previous-versions/windows/desktop/sppwmi/softwarelicensingservice
    Invoke-StatusRead 'reading RemainingWindowsReArmCount' {
        $service = Get-CimInstance -ClassName SoftwareLicensingService -Property RemainingWindowsReArmCount
        $status.remaining_rearm_count = ConvertTo-NullableInt $service.RemainingWindowsReArmCount
    }
    Invoke-StatusRead 'reading SkipRearm' {
        $key = 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\SoftwareProtectionPlatform'
        $status.skip_rearm = ConvertTo-NullableInt (Get-RegistryValue -Path $key -Name 'SkipRearm')
    }
    Invoke-StatusRead 'reading the size of setuperr.log' {
        $log = Join-Path -Path $sysprepPanther -ChildPath 'setuperr.log'
        if (Test-Path -LiteralPath $log -PathType Leaf) {
            $status.setuperr_bytes = (Get-Item -LiteralPath $log).Length
        }
    }
    return $status
}

# ---------------------------------------------------------------------------
# start

function Get-SysprepArgument {
    param([string]$AnswerPath)

    # Sysprep command-line options:
    # https://learn.microsoft.com/windows-hardware/manufacture/desktop/sysprep-command-line-options
    #   /generalize   remove the computer-specific information (SID, ...) so the image can be reused
    #   /oobe         start in Windows Welcome (OOBE) at the next boot
    #   /quiet        no on-screen confirmation messages, for automation
    #   /quit         close sysprep after the run without rebooting or shutting down: the controller
    #                 reads the result, then powers off or hands over to capture
    #   /shutdown     shut down after the run instead (after=shutdown)
    #   /mode:vm      generalize a VHD deployed as a VM on the same hypervisor; only inside a VM,
    #                 only with /generalize /oobe and /reboot, /shutdown or /quit
    #   /unattend:    apply the settings of that answer file during unattended Setup
    $switches = @('/generalize', '/oobe', '/quiet')
    if ($module.Params.after -eq 'shutdown') {
        $switches += '/shutdown'
    }
    else {
        $switches += '/quit'
    }
    if ($module.Params.mode_vm) {
        $switches += '/mode:vm'
    }
    $switches += "/unattend:$AnswerPath"
    return ($switches -join ' ')
}

function Set-OwnerOnlyAcl {
    param([string]$Path)

    # The answer file can hold passwords: only SYSTEM and Administrators may read it.
    $acl = New-Object -TypeName System.Security.AccessControl.FileSecurity
    $acl.SetAccessRuleProtection($true, $false)
    foreach ($sid in @('S-1-5-18', 'S-1-5-32-544')) {
        $identity = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $sid
        $rule = New-Object -TypeName System.Security.AccessControl.FileSystemAccessRule -ArgumentList @(
            $identity, 'FullControl', 'Allow')
        $acl.AddAccessRule($rule)
    }
    Set-Acl -LiteralPath $Path -AclObject $acl
}

function Write-AnswerFile {
    param([string]$Path, [string]$Xml)

    $folder = Split-Path -Path $Path -Parent
    if (-not (Test-Path -LiteralPath $folder -PathType Container)) {
        New-Item -Path $folder -ItemType Directory -Force | Out-Null
    }
    # UTF-8 without BOM, as the XML declaration of the builder says. The file is created empty
    # and locked down before the content is written.
    $utf8 = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false
    [System.IO.File]::WriteAllText($Path, '', $utf8)
    Set-OwnerOnlyAcl -Path $Path
    [System.IO.File]::WriteAllText($Path, $Xml, $utf8)
}

function Merge-SetupCompleteBlock {
    param([string]$Block)

    # %WINDIR%\Setup\Scripts\SetupComplete.cmd runs after Windows Setup on every deployed machine:
    # https://learn.microsoft.com/windows-hardware/manufacture/desktop/add-a-custom-script-to-windows-setup
    # The block's first and last lines mark it; an earlier copy is replaced, other lines are kept
    # after it. ISO-8859-1 maps every byte to one character, so those lines keep their bytes.
    $scripts = Join-Path -Path $env:SystemRoot -ChildPath 'Setup\Scripts'
    $path = Join-Path -Path $scripts -ChildPath 'SetupComplete.cmd'
    $bytes = [System.Text.Encoding]::GetEncoding(28591)
    $lines = @($Block -split '\r?\n' | Where-Object { $_.Trim() })
    $begin = [regex]::Escape($lines[0])
    $end = [regex]::Escape($lines[-1])
    $existing = ''
    if (Test-Path -LiteralPath $path -PathType Leaf) {
        $existing = [System.IO.File]::ReadAllText($path, $bytes)
    }
    $rest = [regex]::Replace($existing, "(?s)$begin.*?$end\r?\n?", '')
    $content = $Block + $rest
    if ($content -ceq $existing) {
        return $false
    }
    if (-not (Test-Path -LiteralPath $scripts -PathType Container)) {
        New-Item -Path $scripts -ItemType Directory -Force | Out-Null
    }
    [System.IO.File]::WriteAllText($path, $content, $bytes)
    return $true
}

function Backup-SysprepLog {
    # A log keeps every run since it was created. The old ones are renamed (never deleted) so the
    # logs read after this run describe this run only.
    $stamp = [DateTime]::UtcNow.ToString('yyyyMMddTHHmmssZ')
    foreach ($name in @('setupact.log', 'setuperr.log')) {
        $path = Join-Path -Path $sysprepPanther -ChildPath $name
        if (Test-Path -LiteralPath $path -PathType Leaf) {
            $target = "$path.winimage-$stamp.bak"
            Move-Item -LiteralPath $path -Destination $target
            $target
        }
    }
}

function Remove-SysprepTask {
    param($Folder)

    $task = Get-SysprepTask -Folder $Folder
    if ($null -eq $task) {
        return $false
    }
    if ($task.State -eq $taskStateRunning) {
        # Never stop a running sysprep: killing it mid-generalize can leave Windows unusable.
        return $false
    }
    $Folder.DeleteTask($taskName, 0)
    return $true
}

function Start-SysprepTask {
    param([string]$Arguments)

    $scheduler = Get-TaskScheduler
    $folder = $scheduler.GetFolder('\')
    [void](Remove-SysprepTask -Folder $folder)

    # One-shot task as Local System, highest run level, no time limit (the controller owns the
    # deadline), allowed on batteries (laptops as reference machines). TaskSettings, principal:
    # https://learn.microsoft.com/windows/win32/taskschd/tasksettings
    # https://learn.microsoft.com/windows/win32/taskschd/principal
    $definition = $scheduler.NewTask(0)
    $definition.RegistrationInfo.Description = 'sysprep /generalize started by winimage.generalize; removed after the run.'
    $definition.Settings.AllowDemandStart = $true
    $definition.Settings.DisallowStartIfOnBatteries = $false
    $definition.Settings.StopIfGoingOnBatteries = $false
    $definition.Settings.ExecutionTimeLimit = 'PT0S'
    $definition.Principal.UserId = 'S-1-5-18'
    $definition.Principal.LogonType = 5  # TASK_LOGON_SERVICE_ACCOUNT
    $definition.Principal.RunLevel = 1  # TASK_RUNLEVEL_HIGHEST
    $action = $definition.Actions.Create(0)  # TASK_ACTION_EXEC
    $action.Path = $sysprepExe
    $action.Arguments = $Arguments
    $action.WorkingDirectory = $sysprepDir

    # 6 = TASK_CREATE_OR_UPDATE; RunEx flag 2 = TASK_RUN_IGNORE_CONSTRAINTS
    $task = $folder.RegisterTaskDefinition($taskName, $definition, 6, $null, $null, 5)
    $running = $task.RunEx($null, 2, 0, '')

    # Wait (bounded) until the task left the queue, so the first status shows the run.
    $enginePid = $null
    for ($second = 0; $second -lt 20; $second++) {
        $result = [int64]$task.LastTaskResult
        if ($task.State -eq $taskStateRunning -or ($result -ne $taskHasNotRun -and $result -ne $taskQueued)) {
            break
        }
        Start-Sleep -Seconds 1
    }
    try {
        $enginePid = $running.EnginePID
    }
    catch {
        $enginePid = $null
    }
    return [ordered]@{
        task_state = ConvertTo-TaskStateName -State $task.State
        task_last_result = [int64]$task.LastTaskResult
        engine_pid = $enginePid
    }
}

function Invoke-Start {
    $status = Get-SysprepStatus
    $answerPath = [Environment]::ExpandEnvironmentVariables($module.Params.answer_file_path)
    $arguments = Get-SysprepArgument -AnswerPath $answerPath
    $module.Result.command = "$sysprepExe $arguments"
    $module.Result.answer_file_path = $answerPath
    $module.Result.status = $status
    $module.Result.started = $false

    # Idempotent: never generalize twice, never start a second sysprep.
    if ($status.image_state -eq $generalizedState) {
        $module.Result.reason = 'already_generalized'
        return
    }
    $task = $status.task
    if ($status.sysprep_processes.Count -gt 0 -or ($null -ne $task -and $task.state -eq 'running')) {
        $module.Result.reason = 'already_running'
        return
    }
    $module.Result.changed = $true
    if ($module.CheckMode) {
        $module.Result.reason = 'check_mode'
        return
    }

    Write-AnswerFile -Path $answerPath -Xml $module.Params.answer_file_xml
    $module.Result.setupcomplete_changed = $false
    if ($module.Params.setupcomplete_script) {
        $module.Result.setupcomplete_changed = Merge-SetupCompleteBlock -Block $module.Params.setupcomplete_script
    }
    $module.Result.logs_set_aside = @(Backup-SysprepLog)
    $run = Start-SysprepTask -Arguments $arguments
    $module.Result.started = $true
    $module.Result.reason = 'started'
    $module.Result.task_state = $run.task_state
    $module.Result.task_last_result = $run.task_last_result
    $module.Result.engine_pid = $run.engine_pid
}

# ---------------------------------------------------------------------------
# logs, cleanup, poweroff

function Read-LogTail {
    param([string]$Path, [long]$MaxBytes)

    $entry = [ordered]@{ path = $Path; exists = $false; size = $null; offset = 0; head_b64 = ''; content_b64 = '' }
    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) {
        return $entry
    }
    # Sysprep may still hold the log open for writing: share read, write and delete.
    $share = [System.IO.FileShare]'ReadWrite, Delete'
    $stream = [System.IO.File]::Open($Path, [System.IO.FileMode]::Open, [System.IO.FileAccess]::Read, $share)
    try {
        $length = $stream.Length
        $offset = [Math]::Max([long]0, $length - $MaxBytes)
        # UTF-16 code units start at even offsets: an even start keeps the tail decodable.
        if ($offset % 2 -eq 1) {
            $offset += 1
        }
        $head = New-Object -TypeName byte[] -ArgumentList ([Math]::Min([long]4, $length))
        [void]$stream.Read($head, 0, $head.Length)
        $count = [int]($length - $offset)
        $buffer = New-Object -TypeName byte[] -ArgumentList $count
        [void]$stream.Seek($offset, [System.IO.SeekOrigin]::Begin)
        $read = 0
        while ($read -lt $count) {
            $got = $stream.Read($buffer, $read, $count - $read)
            if ($got -le 0) {
                break
            }
            $read += $got
        }
        $entry.exists = $true
        $entry.size = $length
        $entry.offset = $offset
        $entry.head_b64 = [Convert]::ToBase64String($head)
        $entry.content_b64 = [Convert]::ToBase64String($buffer, 0, $read)
    }
    finally {
        $stream.Dispose()
    }
    return $entry
}

function Invoke-Log {
    # Sysprep writes generalize to %WINDIR%\System32\Sysprep\Panther; %WINDIR%\Panther holds
    # Windows Setup's own logs (Sysprep process overview, log file locations):
    # https://learn.microsoft.com/windows-hardware/manufacture/desktop/sysprep-process-overview
    $paths = @(
        (Join-Path -Path $sysprepPanther -ChildPath 'setupact.log'),
        (Join-Path -Path $sysprepPanther -ChildPath 'setuperr.log'),
        (Join-Path -Path $env:SystemRoot -ChildPath 'Panther\setupact.log')
    )
    $module.Result.logs = @(foreach ($path in $paths) {
            Read-LogTail -Path $path -MaxBytes $module.Params.log_max_bytes
        })
}

function Invoke-Cleanup {
    $answerPath = [Environment]::ExpandEnvironmentVariables($module.Params.answer_file_path)
    $removed = @()
    if (Test-Path -LiteralPath $answerPath -PathType Leaf) {
        if (-not $module.CheckMode) {
            Remove-Item -LiteralPath $answerPath -Force
        }
        $removed += $answerPath
    }
    $module.Result.removed = $removed
    $folder = (Get-TaskScheduler).GetFolder('\')
    $task = Get-SysprepTask -Folder $folder
    $module.Result.task_removed = $false
    if ($null -ne $task -and $task.State -ne $taskStateRunning) {
        if (-not $module.CheckMode) {
            $folder.DeleteTask($taskName, 0)
        }
        $module.Result.task_removed = $true
    }
    $module.Result.changed = ($removed.Count -gt 0) -or $module.Result.task_removed
}

function Invoke-PowerOff {
    # shutdown.exe /s shuts the computer down, /t the delay in seconds, so this module can
    # still return its result: https://learn.microsoft.com/windows-server/administration/windows-commands/shutdown
    $shutdown = Join-Path -Path $env:SystemRoot -ChildPath 'System32\shutdown.exe'
    $module.Result.command = "$shutdown /s /t 5"
    $module.Result.changed = $true
    $module.Result.rc = 0
    if ($module.CheckMode) {
        return
    }
    $output = & $shutdown /s /t 5 /c 'winimage.generalize: power off after sysprep /generalize' 2>&1
    $module.Result.rc = $LASTEXITCODE
    $module.Result.stdout = (@($output) | ForEach-Object { "$_" }) -join "`n"
}

# ---------------------------------------------------------------------------

# FailJson ends the module by `exit`; it is called outside the try below so it runs only once.
$operation = $module.Params.operation
if ($operation -eq 'generalize') {
    $module.FailJson('operation=generalize is run by the winimage.generalize.sysprep action plugin: call the module by its FQCN in a task')
}
if ($operation -eq 'start' -and -not $module.Params.answer_file_xml) {
    $module.FailJson('operation=start needs answer_file_xml (the action plugin builds it from answer_file)')
}

$module.Result.changed = $false
$failure = $null
try {
    switch ($operation) {
        'status' {
            $status = Get-SysprepStatus
            foreach ($key in $status.Keys) {
                $module.Result.$key = $status.$key
            }
        }
        'start' {
            Invoke-Start
        }
        'logs' {
            Invoke-Log
        }
        'cleanup' {
            Invoke-Cleanup
        }
        'poweroff' {
            Invoke-PowerOff
        }
    }
}
catch {
    $failure = $_
}
if ($null -ne $failure) {
    $module.FailJson("sysprep operation $operation failed: $($failure.Exception.Message)", $failure)
}
$module.Result.errors = @($readErrors)
$module.ExitJson()
