# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Set the named static MAC addresses of a powered-off Hyper-V VM back to dynamic, so copies of
# the VM do not share them (seed: Virtual deployment). Adapters are found by MAC address: Hyper-V
# names every adapter "Network Adapter" by default.
# Set-VMNetworkAdapter -DynamicMacAddress: https://learn.microsoft.com/powershell/module/hyper-v/set-vmnetworkadapter
[CmdletBinding(SupportsShouldProcess)]
param (
    [Parameter(Mandatory)][string]$Name,
    [Parameter(Mandatory)][string[]]$MacAddresses
)

$ErrorActionPreference = 'Stop'
$Ansible.Changed = $false
$wanted = @($MacAddresses | ForEach-Object { ($_ -replace '[^0-9A-Fa-f]', '').ToUpperInvariant() })
$reset = @()
foreach ($adapter in @(Get-VMNetworkAdapter -VMName $Name)) {
    if ($adapter.DynamicMacAddressEnabled -or $wanted -notcontains ([string]$adapter.MacAddress).ToUpperInvariant()) {
        continue
    }
    if ($PSCmdlet.ShouldProcess("$Name/$($adapter.MacAddress)", 'Set-VMNetworkAdapter -DynamicMacAddress')) {
        Set-VMNetworkAdapter -VMNetworkAdapter $adapter -DynamicMacAddress
    }
    $reset += [string]$adapter.MacAddress
    $Ansible.Changed = $true
}
$Ansible.Result = @{ name = $Name; reset = $reset }
