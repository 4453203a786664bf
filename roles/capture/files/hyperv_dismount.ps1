# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Dismount the VM disk the capture mounted (always runs, also after a failed capture).
# Dismount-VHD: https://learn.microsoft.com/powershell/module/hyper-v/dismount-vhd
param (
    [Parameter(Mandatory)][string]$Path
)

$ErrorActionPreference = 'Stop'
$Ansible.Changed = $false
if ((Get-VHD -Path $Path).Attached) {
    Dismount-VHD -Path $Path
    $Ansible.Changed = $true
}
