# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Create, remove or restore checkpoints of a Hyper-V VM. Removing a checkpoint merges its
# differencing disk into the VM's disk: the current state is kept. Names are decided by the
# hypervisor role (module_utils/hypervisor.py); this only acts.
# Checkpoint-VM, Remove-VMSnapshot, Restore-VMSnapshot: https://learn.microsoft.com/powershell/module/hyper-v/
[CmdletBinding(SupportsShouldProcess)]
param (
    [Parameter(Mandatory)][string]$Name,
    [Parameter(Mandatory)][ValidateSet('Create', 'Remove', 'Restore')][string]$Action,
    [Parameter(Mandatory)][string[]]$Checkpoints
)

$ErrorActionPreference = 'Stop'
$Ansible.Changed = $false
$existing = @(Get-VMSnapshot -VMName $Name | ForEach-Object { [string]$_.Name })
foreach ($checkpoint in $Checkpoints) {
    $present = $existing -contains $checkpoint
    # Nothing to do: creating one that exists, removing one that is gone.
    if (($Action -eq 'Create' -and $present) -or ($Action -eq 'Remove' -and -not $present)) {
        continue
    }
    if ($Action -eq 'Restore' -and -not $present) {
        throw "Hyper-V VM '$Name' has no checkpoint '$checkpoint' to restore"
    }
    if ($PSCmdlet.ShouldProcess("$Name/$checkpoint", "$Action checkpoint")) {
        if ($Action -eq 'Create') { Checkpoint-VM -Name $Name -SnapshotName $checkpoint }
        elseif ($Action -eq 'Remove') { Remove-VMSnapshot -VMName $Name -Name $checkpoint }
        else { Restore-VMSnapshot -VMName $Name -Name $checkpoint -Confirm:$false }
    }
    $Ansible.Changed = $true
}
$Ansible.Result = @{ name = $Name; action = $Action; checkpoints = @($Checkpoints) }
