# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Enable the named integration services of a Hyper-V VM (the role asks for Heartbeat and
# Shutdown: the VM's state is known and a clean shutdown from the host works).
# Enable-VMIntegrationService: https://learn.microsoft.com/powershell/module/hyper-v/enable-vmintegrationservice
[CmdletBinding(SupportsShouldProcess)]
param (
    [Parameter(Mandatory)][string]$Name,
    [Parameter(Mandatory)][string[]]$Services
)

$ErrorActionPreference = 'Stop'
$Ansible.Changed = $false
foreach ($service in @(Get-VMIntegrationService -VMName $Name | Where-Object { $Services -contains $_.Name })) {
    if ($service.Enabled) { continue }
    if ($PSCmdlet.ShouldProcess("$Name/$($service.Name)", 'Enable-VMIntegrationService')) {
        Enable-VMIntegrationService -VMName $Name -Name $service.Name
    }
    $Ansible.Changed = $true
}
$Ansible.Result = @{ name = $Name; services = @($Services) }
