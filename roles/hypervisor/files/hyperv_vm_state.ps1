# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Read one Hyper-V VM as the hypervisor role needs it: state, checkpoints, network adapters,
# integration services and disks. Read-only; the decisions are made in Python
# (module_utils/hypervisor.py). Runs in check mode too (SupportsShouldProcess).
# Get-VM, Get-VMSnapshot, Get-VMNetworkAdapter, Get-VMIntegrationService, Get-VMHardDiskDrive, Get-VHD:
# https://learn.microsoft.com/powershell/module/hyper-v/
[CmdletBinding(SupportsShouldProcess)]
param (
    [Parameter(Mandatory)][string]$Name
)

$ErrorActionPreference = 'Stop'
$Ansible.Changed = $false
$vms = @(Get-VM -Name $Name)
if ($vms.Count -ne 1) {
    throw "Hyper-V VM '$Name' matched $($vms.Count) VMs on $env:COMPUTERNAME; set hypervisor_vm_name to a unique name"
}
$vm = $vms[0]

$checkpoints = @(Get-VMSnapshot -VM $vm | ForEach-Object {
        @{
            name = [string]$_.Name
            created = $_.CreationTime.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')
            parent = [string]$_.ParentSnapshotName
        }
    })
$adapters = @(Get-VMNetworkAdapter -VM $vm | ForEach-Object {
        @{ name = [string]$_.Name; mac = [string]$_.MacAddress; dynamic = [bool]$_.DynamicMacAddressEnabled }
    })
$services = @(Get-VMIntegrationService -VM $vm | ForEach-Object {
        @{ name = [string]$_.Name; enabled = [bool]$_.Enabled }
    })
$disks = @(Get-VMHardDiskDrive -VM $vm | ForEach-Object {
        $vhd = $null
        if ($_.Path) { $vhd = Get-VHD -Path $_.Path -ErrorAction SilentlyContinue }
        @{
            path = [string]$_.Path
            controller = "$($_.ControllerType) $($_.ControllerNumber):$($_.ControllerLocation)"
            vhd_type = if ($vhd) { [string]$vhd.VhdType } else { $null }
            parent_path = if ($vhd) { [string]$vhd.ParentPath } else { $null }
        }
    })

$Ansible.Result = @{
    name = [string]$vm.Name
    id = [string]$vm.Id
    state = [string]$vm.State
    generation = [int]$vm.Generation
    checkpoints = $checkpoints
    adapters = $adapters
    integration_services = $services
    disks = $disks
}
