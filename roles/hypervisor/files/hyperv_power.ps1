# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Bring a Hyper-V VM to Running or Off and wait, with a deadline, until it is there. Off is a
# guest shutdown through the Shutdown integration service (Stop-VM without -TurnOff); with
# -WaitOnly nothing is done, the script only waits (sysprep powers the VM off itself).
# Start-VM, Stop-VM: https://learn.microsoft.com/powershell/module/hyper-v/stop-vm
[CmdletBinding(SupportsShouldProcess)]
param (
    [Parameter(Mandatory)][string]$Name,
    [Parameter(Mandatory)][ValidateSet('Running', 'Off')][string]$State,
    [switch]$WaitOnly,
    [int]$TimeoutSeconds = 1800,
    [int]$PollSeconds = 10
)

$ErrorActionPreference = 'Stop'
$Ansible.Changed = $false
$vm = Get-VM -Name $Name
$before = [string]$vm.State
if ($before -ne $State -and -not $WaitOnly) {
    if ($PSCmdlet.ShouldProcess($Name, "bring the VM to $State")) {
        if ($State -eq 'Running') { Start-VM -VM $vm } else { Stop-VM -VM $vm -Force }
    }
    $Ansible.Changed = $true
}
if ($WhatIfPreference) {
    $Ansible.Result = @{ name = $Name; before = $before; state = $before }
    return
}
$deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
while ([string](Get-VM -Name $Name).State -ne $State) {
    $now = [string](Get-VM -Name $Name).State
    if ($State -eq 'Off' -and $now -in @('Saved', 'Paused')) {
        throw "Hyper-V VM '$Name' is $now, not shutting down; its Windows must shut down (sysprep, or a guest shutdown)"
    }
    if ([DateTime]::UtcNow -ge $deadline) {
        throw "Hyper-V VM '$Name' is still $now after $TimeoutSeconds seconds (waiting for $State); check its console"
    }
    Start-Sleep -Seconds $PollSeconds
}
$Ansible.Result = @{ name = $Name; before = $before; state = $State }
