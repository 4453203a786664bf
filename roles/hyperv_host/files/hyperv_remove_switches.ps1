# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Remove the named virtual switches before sysprep (Microsoft: virtual networks must be deleted
# before sysprep and recreated after deployment). They were recorded first.
# Remove-VMSwitch: https://learn.microsoft.com/powershell/module/hyper-v/remove-vmswitch
[CmdletBinding(SupportsShouldProcess)]
param (
    [Parameter(Mandatory)][string[]]$Names
)

$ErrorActionPreference = 'Stop'
$Ansible.Changed = $false
$removed = @()
foreach ($name in $Names) {
    $switch = Get-VMSwitch -Name $name -ErrorAction SilentlyContinue
    if (-not $switch) { continue }
    if ($PSCmdlet.ShouldProcess($name, 'Remove-VMSwitch')) {
        Remove-VMSwitch -Name $name -Force
    }
    $removed += $name
    $Ansible.Changed = $true
}
$Ansible.Result = @{ removed = $removed }
