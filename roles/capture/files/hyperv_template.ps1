# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Keep the VM's disk as a template: Convert-VHD copies the data of the current disk into a new,
# standalone dynamic VHDX (a dynamic disk has no parent, so it holds the merged checkpoint chain).
# Merge-VHD is not used: it would merge into the VM's own parent disks. The copy is written under
# a temporary name and renamed; an existing template is never overwritten.
# Convert-VHD (an offline operation: the disk must not be attached):
# https://learn.microsoft.com/powershell/module/hyper-v/convert-vhd
param (
    [Parameter(Mandatory)][string]$Source,
    [Parameter(Mandatory)][string]$Destination
)

$ErrorActionPreference = 'Stop'
$Ansible.Changed = $false
if (Test-Path -LiteralPath $Destination) {
    $Ansible.Result = @{ path = $Destination; created = $false; reason = 'exists; never overwritten' }
    return
}
$directory = Split-Path -Path $Destination -Parent
if (-not (Test-Path -LiteralPath $directory -PathType Container)) {
    throw "template directory $directory does not exist; create it first"
}
$partial = Join-Path -Path $directory -ChildPath ('{0}.partial-{1}.vhdx' -f
    [System.IO.Path]::GetFileNameWithoutExtension($Destination), [guid]::NewGuid().ToString('N').Substring(0, 12))
try {
    Convert-VHD -Path $Source -DestinationPath $partial -VHDType Dynamic
    Rename-Item -LiteralPath $partial -NewName (Split-Path -Path $Destination -Leaf)
}
catch {
    Remove-Item -LiteralPath $partial -Force -ErrorAction SilentlyContinue
    throw
}
$Ansible.Changed = $true
$Ansible.Result = @{
    path = $Destination
    created = $true
    size = (Get-Item -LiteralPath $Destination).Length
    sha256 = (Get-FileHash -LiteralPath $Destination -Algorithm SHA256).Hash.ToLowerInvariant()
}
