# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# The VM's current disk and its checkpoint chain. With checkpoints the VM writes to the newest
# differencing disk (.avhdx); Get-VHD ParentPath leads back to the base disk. Mounting that leaf
# read-only exposes the merged view the VM sees. Read-only, runs in check mode too.
# Get-VMHardDiskDrive: https://learn.microsoft.com/powershell/module/hyper-v/get-vmharddiskdrive
# Get-VHD: https://learn.microsoft.com/powershell/module/hyper-v/get-vhd
[CmdletBinding(SupportsShouldProcess)]
param (
    [Parameter(Mandatory)][string]$Name,
    [int]$DiskNumber = 0
)

$ErrorActionPreference = 'Stop'
$Ansible.Changed = $false
$drives = @(Get-VMHardDiskDrive -VMName $Name |
        Sort-Object -Property @('ControllerType', 'ControllerNumber', 'ControllerLocation'))
if ($drives.Count -eq 0) {
    throw "Hyper-V VM '$Name' has no virtual hard disk"
}
if ($DiskNumber -lt 0 -or $DiskNumber -ge $drives.Count) {
    throw "capture_hyperv_disk_number $DiskNumber does not exist; VM '$Name' has $($drives.Count) disk(s) (0-based, controller order)"
}
$drive = $drives[$DiskNumber]
if (-not $drive.Path) {
    throw "disk $DiskNumber of VM '$Name' is a pass-through disk, not a VHD/VHDX; capture it with the WinPE path"
}
$chain = [System.Collections.Generic.List[object]]@()
$path = $drive.Path
while ($path) {
    if ($chain.Count -ge 64) {
        throw "the parent chain of $($drive.Path) is longer than 64 disks; is it circular?"
    }
    $vhd = Get-VHD -Path $path
    $chain.Add(@{ path = $vhd.Path; type = "$($vhd.VhdType)"; format = "$($vhd.VhdFormat)"; attached = [bool]$vhd.Attached;
            size = $vhd.Size; file_size = $vhd.FileSize })
    $path = $vhd.ParentPath
}
$Ansible.Result = @{
    leaf = $drive.Path
    chain = $chain.ToArray()
    checkpoints = @(Get-VMSnapshot -VMName $Name).Count
    controller = "$($drive.ControllerType) $($drive.ControllerNumber):$($drive.ControllerLocation)"
}
