# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Wait, with a deadline, until a Hyper-V VM is Off (sysprep /generalize /shutdown finished).
# Read-only, so it also runs in check mode (SupportsShouldProcess). Saved or Paused VMs fail at
# once: their disk holds a Windows that never shut down, which must not be captured.
# Get-VM: https://learn.microsoft.com/powershell/module/hyper-v/get-vm
[CmdletBinding(SupportsShouldProcess)]
param (
    [Parameter(Mandatory)][string]$Name,
    [int]$TimeoutSeconds = 1800,
    [int]$PollSeconds = 10
)

$ErrorActionPreference = 'Stop'
$Ansible.Changed = $false
$deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
$state = $null
while ($true) {
    $vms = @(Get-VM -Name $Name)
    if ($vms.Count -ne 1) {
        throw "Hyper-V VM '$Name' matched $($vms.Count) VMs on $env:COMPUTERNAME; set capture_hyperv_vm_name to a unique name"
    }
    $state = "$($vms[0].State)"
    if ($state -eq 'Off') {
        break
    }
    if ($state -in @('Saved', 'Paused')) {
        throw ("Hyper-V VM '{0}' is {1}: its Windows did not shut down. Start it, let sysprep finish with " +
            "/shutdown (or shut it down after sysprep /quit), then capture") -f $Name, $state
    }
    if ([DateTime]::UtcNow -ge $deadline) {
        throw ("Hyper-V VM '{0}' is still {1} after {2} seconds; sysprep may still run or hang. Check the VM " +
            "console; raise capture_hyperv_off_timeout if it only needs longer") -f $Name, $state, $TimeoutSeconds
    }
    Start-Sleep -Seconds $PollSeconds
}
$Ansible.Result = @{ name = $Name; state = $state; id = "$($vms[0].Id)" }
