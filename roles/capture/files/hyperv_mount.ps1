# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Mount the VM's current disk read-only (Mount-VHD -ReadOnly opens the whole checkpoint chain
# behind a differencing disk) and report its partitions with their drive letters and whether
# they hold Windows. Nothing in the VM's disks is written.
# Mount-VHD: https://learn.microsoft.com/powershell/module/hyper-v/mount-vhd
# Get-Partition / Add-PartitionAccessPath: https://learn.microsoft.com/powershell/module/storage/
param (
    [Parameter(Mandatory)][string]$Path
)

$ErrorActionPreference = 'Stop'
$vhd = Get-VHD -Path $Path
$mountedHere = $false
if (-not $vhd.Attached) {
    $vhd = Mount-VHD -Path $Path -ReadOnly -PassThru
    $mountedHere = $true
}
$disk = Get-Disk -Number $vhd.DiskNumber
$partitions = [System.Collections.Generic.List[object]]@()
foreach ($partition in @(Get-Partition -DiskNumber $disk.Number)) {
    $letter = "$($partition.DriveLetter)".Trim([char]0, ' ')
    $note = $null
    if (-not $letter -and $partition.Type -in @('Basic', 'IFS')) {
        # Automount may be off on servers; a letter is given for the capture and goes with the dismount.
        try {
            Add-PartitionAccessPath -DiskNumber $disk.Number -PartitionNumber $partition.PartitionNumber -AssignDriveLetter
            $letter = "$((Get-Partition -DiskNumber $disk.Number -PartitionNumber $partition.PartitionNumber).DriveLetter)".Trim([char]0, ' ')
        }
        catch {
            $note = "no drive letter: $($_.Exception.Message)"
        }
    }
    $windows = [bool]($letter -and (Test-Path -LiteralPath ('{0}:\Windows\System32\config\SYSTEM' -f $letter) -PathType Leaf))
    $partitions.Add(@{
            number = $partition.PartitionNumber
            letter = $letter
            size = $partition.Size
            type = "$($partition.Type)"
            windows = $windows
            note = $note
        })
}
$Ansible.Changed = $mountedHere
$Ansible.Result = @{
    path = $Path
    disk_number = $disk.Number
    read_only = [bool]$disk.IsReadOnly
    mounted_here = $mountedHere
    partitions = $partitions.ToArray()
}
