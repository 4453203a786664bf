# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Read what generalizing a Hyper-V host depends on: registered VMs (with checkpoint counts),
# virtual switches, the dynamic MAC address range, physical adapters, whether the hypervisor
# runs and the BCD hypervisorlaunchtype. Read-only (also in check mode); the decisions are made
# in Python (module_utils/hyperv_host.py).
# The range is read from the registry values MinimumMacAddress/MaximumMacAddress (REG_BINARY)
# under HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Virtualization, where Hyper-V keeps
# it on every version; Get-VMHost shows the same range where the Hyper-V module exists (2012+).
# Get-VM, Get-VMSwitch: https://learn.microsoft.com/powershell/module/hyper-v/
# Win32_ComputerSystem.HypervisorPresent: https://learn.microsoft.com/windows/win32/cimwin32prov/win32-computersystem
[CmdletBinding(SupportsShouldProcess)]
param ()

$ErrorActionPreference = 'Stop'
$Ansible.Changed = $false

function ConvertTo-MacText {
    param ($Bytes)
    if ($null -eq $Bytes) { return $null }
    (@($Bytes) | ForEach-Object { '{0:X2}' -f [int]$_ }) -join ''
}

$key = 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Virtualization'
$values = Get-ItemProperty -LiteralPath $key -ErrorAction SilentlyContinue
$minimum = if ($values) { ConvertTo-MacText $values.MinimumMacAddress } else { $null }
$maximum = if ($values) { ConvertTo-MacText $values.MaximumMacAddress } else { $null }

$launchType = $null
foreach ($line in @(& bcdedit.exe /enum '{current}' 2>$null)) {
    if ($line -match '^\s*hypervisorlaunchtype\s+(\S+)') { $launchType = $Matches[1] }
}

$result = @{
    module_available = $false
    can_remove_switches = $false
    vms = $null
    switches = $null
    mac_address_minimum = $minimum
    mac_address_maximum = $maximum
    mac_range_present = ($null -ne $minimum) -or ($null -ne $maximum)
    hypervisor_present = [bool](Get-CimInstance -ClassName Win32_ComputerSystem).HypervisorPresent
    hypervisor_launch_type = $launchType
    adapters = @(Get-CimInstance -ClassName Win32_NetworkAdapter -Filter 'PhysicalAdapter = TRUE' | ForEach-Object {
            @{ Name = [string]$_.NetConnectionID; InterfaceDescription = [string]$_.Name }
        })
}

if (Get-Command -Name Get-VM -ErrorAction SilentlyContinue) {
    $result.module_available = $true
    $result.can_remove_switches = $true
    $result.vms = @(Get-VM | ForEach-Object {
            @{ name = [string]$_.Name; state = [string]$_.State; checkpoints = @(Get-VMSnapshot -VM $_).Count }
        })
    $result.switches = @(Get-VMSwitch | ForEach-Object {
            @{
                Name = [string]$_.Name
                SwitchType = [string]$_.SwitchType
                NetAdapterInterfaceDescription = [string]$_.NetAdapterInterfaceDescription
                NetAdapterInterfaceDescriptions = @($_.NetAdapterInterfaceDescriptions | ForEach-Object { [string]$_ })
                AllowManagementOS = [bool]$_.AllowManagementOS
                EmbeddedTeamingEnabled = [bool]$_.EmbeddedTeamingEnabled
                IovEnabled = [bool]$_.IovEnabled
                BandwidthReservationMode = [string]$_.BandwidthReservationMode
                Notes = [string]$_.Notes
            }
        })
}
$Ansible.Result = $result
