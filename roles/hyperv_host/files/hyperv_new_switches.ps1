# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Create the virtual switches the post-deployment plan says to create (module_utils/hyperv_host.py
# decides the adapters); switches that exist are left alone.
# New-VMSwitch: https://learn.microsoft.com/powershell/module/hyper-v/new-vmswitch
[CmdletBinding(SupportsShouldProcess)]
param (
    [Parameter(Mandatory)][object[]]$Switches
)

$ErrorActionPreference = 'Stop'
$Ansible.Changed = $false
$created = @()
foreach ($switch in $Switches) {
    if (Get-VMSwitch -Name $switch.name -ErrorAction SilentlyContinue) { continue }
    if ($PSCmdlet.ShouldProcess($switch.name, "New-VMSwitch ($($switch.switch_type))")) {
        if ($switch.switch_type -eq 'External') {
            $arguments = @{
                Name = $switch.name
                NetAdapterName = @($switch.net_adapter_names)
                AllowManagementOS = [bool]$switch.allow_management_os
            }
            if ($switch.embedded_teaming) { $arguments.EnableEmbeddedTeaming = $true }
            New-VMSwitch @arguments | Out-Null
        }
        else {
            New-VMSwitch -Name $switch.name -SwitchType $switch.switch_type | Out-Null
        }
    }
    $created += [string]$switch.name
    $Ansible.Changed = $true
}
$Ansible.Result = @{ created = $created }
