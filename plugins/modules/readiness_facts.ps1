#!powershell

# Copyright: (c) 2026, winimage.generalize contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#Requires -Module Ansible.ModuleUtils.AddType
#Requires -Module Ansible.ModuleUtils.CommandUtil

# Gathers the readiness facts of this Windows installation in one round trip.
#
# Shape: plugins/module_utils/facts_schema.py (documented in docs/facts.md). Each section
# starts as the all-$null template from New-EmptySection and one Read-*Fact probe fills
# what it can read. A failed read leaves its fields $null and records
# "<what failed>: <exception message>" in errors[section]; the other reads go on.
# Read-only by contract: tests/unit/plugins/modules/test_readiness_facts_contract.py
# rejects any command or method that writes the registry, files or services.
# Decisions (findings, derived facts such as appx.user_not_provisioned) are made in
# Python by the action plugin and the rules engine, never here.

$spec = @{
    options = @{
        gather_subset = @{ type = 'list'; elements = 'str'; default = @('all') }
        exclude = @{
            type = 'list'
            elements = 'str'
            default = @()
            choices = @(
                'os', 'domain', 'pending', 'bitlocker', 'appx', 'licensing', 'setup', 'roles',
                'hyperv', 'answer_files', 'autologon', 'profiles', 'disk', 'virtualization', 'connection'
            )
        }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$ErrorActionPreference = 'Stop'

$schemaVersion = '1.0'
$excludedReason = 'excluded by gather_subset'

# Section name -> the probe that fills it, in schema order.
$sectionProbes = [ordered]@{
    os = 'Read-OsFact'
    domain = 'Read-DomainFact'
    pending = 'Read-PendingFact'
    bitlocker = 'Read-BitLockerFact'
    appx = 'Read-AppxFact'
    licensing = 'Read-LicensingFact'
    setup = 'Read-SetupFact'
    roles = 'Read-RoleFact'
    hyperv = 'Read-HyperVFact'
    answer_files = 'Read-AnswerFileFact'
    autologon = 'Read-AutoLogonFact'
    profiles = 'Read-ProfileFact'
    disk = 'Read-DiskFact'
    virtualization = 'Read-VirtualizationFact'
    connection = 'Read-ConnectionFact'
}

# ---------------------------------------------------------------------------
# Section templates: every schema field, all unknown.

function New-EmptySection {
    param([string]$Name)

    switch ($Name) {
        'os' {
            [ordered]@{
                product_name = $null
                edition_id = $null
                version = $null
                build = $null
                ubr = $null
                display_version = $null
                architecture = $null
                installation_type = $null
                product_type = $null
                is_server = $null
                language = $null
                computer_name = $null
                system_root = $null
            }
        }
        'domain' {
            [ordered]@{
                joined = $null
                dns_domain = $null
                netbios_domain = $null
                workgroup = $null
                domain_sid = $null
                role = $null
                is_domain_controller = $null
                site_name = $null
            }
        }
        'pending' {
            [ordered]@{
                cbs_reboot_pending = $null
                cbs_packages_pending = $null
                cbs_operations_in_progress = $null
                windows_update_reboot_required = $null
                file_rename_operations = $null
                computer_rename_pending = $null
            }
        }
        'bitlocker' {
            [ordered]@{
                os_volume = $null
                protection_status = $null
                volume_status = $null
                encryption_percentage = $null
                encrypted_offline = $null
            }
        }
        'appx' {
            [ordered]@{
                packages = $null
                provisioned = $null
                user_not_provisioned = $null
                store_auto_download = $null
            }
        }
        'licensing' {
            [ordered]@{
                remaining_rearm_count = $null
                skip_rearm = $null
                license_status = $null
            }
        }
        'setup' {
            [ordered]@{
                image_state = $null
                generalization_state = $null
                cleanup_state = $null
                system_setup_in_progress = $null
                oobe_in_progress = $null
                audit_mode = $null
                upgraded = $null
                upgrade_history = $null
                sysprep_running = $null
            }
        }
        'roles' {
            [ordered]@{
                installed = $null
                hyperv = $null
                nps = $null
                nps_radius_clients = $null
                nps_remote_server_groups = $null
            }
        }
        'hyperv' {
            [ordered]@{
                vms = $null
                switches = $null
                mac_address_minimum = $null
                mac_address_maximum = $null
                hypervisor_launch_type = $null
            }
        }
        'answer_files' {
            [ordered]@{
                files = $null
            }
        }
        'autologon' {
            [ordered]@{
                enabled = $null
                username = $null
                domain = $null
                password_stored = $null
                logon_count = $null
            }
        }
        'profiles' {
            [ordered]@{
                users = $null
            }
        }
        'disk' {
            [ordered]@{
                system_drive = $null
                free_bytes = $null
                size_bytes = $null
                pagefile_present = $null
                hiberfil_present = $null
                swapfile_present = $null
            }
        }
        'virtualization' {
            [ordered]@{
                is_virtual = $null
                hypervisor_vendor = $null
                manufacturer = $null
                model = $null
                guest_tools = $null
            }
        }
        'connection' {
            [ordered]@{
                user = $null
                sid = $null
                is_domain_account = $null
                is_local_administrator = $null
                authentication = $null
            }
        }
        default { throw "unknown facts section '$Name'" }
    }
}

# ---------------------------------------------------------------------------
# Error bookkeeping

$sectionErrors = [ordered]@{}
$unavailable = [ordered]@{}
# The section whose probe runs now; Invoke-FactStep files its failures under it.
$script:probingSection = $null

function Add-SectionError {
    param([string]$Name, [string]$Message)

    if ($sectionErrors.Contains($Name)) {
        $sectionErrors[$Name] = '{0}; {1}' -f $sectionErrors[$Name], $Message
    }
    else {
        $sectionErrors[$Name] = $Message
    }
}

function Invoke-FactStep {
    # Runs one read of the current probe. On failure it records "<step>: <message>" and
    # returns nothing, so the probe's other reads still run. The parameter names are
    # unusual on purpose: the read block sees this function's variables first.
    param(
        [Parameter(Position = 0)][string]$FactStepName,
        [Parameter(Position = 1)][scriptblock]$FactStepRead
    )

    try {
        & $FactStepRead
    }
    catch {
        Add-SectionError -Name $script:probingSection -Message ('{0}: {1}' -f $FactStepName, $_.Exception.Message)
    }
}

# ---------------------------------------------------------------------------
# Read-only registry access. OpenSubKey(name) opens a key read-only and returns $null when
# it does not exist (https://learn.microsoft.com/dotnet/api/microsoft.win32.registrykey.opensubkey).
# The 64-bit view avoids WOW64 redirection when the host runs 32-bit PowerShell; on a 32-bit
# OS the same call returns the 32-bit view
# (https://learn.microsoft.com/dotnet/api/microsoft.win32.registrykey.openbasekey).

$machineHive = [Microsoft.Win32.RegistryKey]::OpenBaseKey(
    [Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)

function Test-MachineKey {
    param([string]$SubKey)

    $key = $machineHive.OpenSubKey($SubKey)
    if ($null -eq $key) {
        return $false
    }
    $key.Dispose()
    $true
}

function Get-MachineValue {
    # Data of one value, $null when the key or the value does not exist.
    param([string]$SubKey, [string]$Name)

    $key = $machineHive.OpenSubKey($SubKey)
    if ($null -eq $key) {
        return $null
    }
    try {
        $value = $key.GetValue($Name, $null)
        # A REG_MULTI_SZ comes back as string[]; keep it one value for the caller.
        if ($value -is [array]) {
            return , $value
        }
        $value
    }
    finally {
        $key.Dispose()
    }
}

function Test-MachineValue {
    # Whether a value exists, without reading its data (used for secrets).
    param([string]$SubKey, [string]$Name)

    $key = $machineHive.OpenSubKey($SubKey)
    if ($null -eq $key) {
        return $false
    }
    try {
        $key.GetValueNames() -contains $Name
    }
    finally {
        $key.Dispose()
    }
}

function Get-MachineSubKeyName {
    param([string]$SubKey)

    $key = $machineHive.OpenSubKey($SubKey)
    if ($null -eq $key) {
        return
    }
    try {
        $key.GetSubKeyNames()
    }
    finally {
        $key.Dispose()
    }
}

function ConvertTo-NullableInt {
    param($Value)

    if ($null -eq $Value -or "$Value" -eq '') {
        return $null
    }
    [long]$Value
}

function ConvertTo-NullableFlag {
    # A DWORD flag as a boolean; $null when the value is not there.
    param($Value)

    if ($null -eq $Value) {
        return $null
    }
    [long]$Value -ne 0
}

function Test-RootFile {
    # Test-Path and Get-Item report locked hidden system files such as pagefile.sys as
    # missing; a filtered directory listing finds them (ansible/ansible pull request 30665,
    # PowerShell/PowerShell issue 2144).
    param([string]$Directory, [string]$Name)

    @(Get-ChildItem -LiteralPath $Directory -Filter $Name -Force).Count -gt 0
}

# ---------------------------------------------------------------------------
# Local Security Authority: the machine (account domain) SID and the primary domain,
# read from the local policy without contacting a domain controller.
# LsaOpenPolicy / LsaQueryInformationPolicy with POLICY_VIEW_LOCAL_INFORMATION,
# PolicyAccountDomainInformation (5) and PolicyDnsDomainInformation (12):
# https://learn.microsoft.com/windows/win32/api/ntsecapi/nf-ntsecapi-lsaqueryinformationpolicy
# https://learn.microsoft.com/windows/win32/api/lsalookup/ns-lsalookup-policy_dns_domain_info

$lsaSource = @'
using System;
using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Security.Principal;

namespace WinImage.Generalize.ReadinessFacts
{
    public class LsaDomain
    {
        public string Name;
        public string DnsName;
        public string Sid;
    }

    public class NativeHelpers
    {
        [StructLayout(LayoutKind.Sequential)]
        public struct LSA_UNICODE_STRING
        {
            public UInt16 Length;
            public UInt16 MaximumLength;
            public IntPtr Buffer;
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct LSA_OBJECT_ATTRIBUTES
        {
            public UInt32 Length;
            public IntPtr RootDirectory;
            public IntPtr ObjectName;
            public UInt32 Attributes;
            public IntPtr SecurityDescriptor;
            public IntPtr SecurityQualityOfService;
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct POLICY_ACCOUNT_DOMAIN_INFO
        {
            public LSA_UNICODE_STRING DomainName;
            public IntPtr DomainSid;
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct POLICY_DNS_DOMAIN_INFO
        {
            public LSA_UNICODE_STRING Name;
            public LSA_UNICODE_STRING DnsDomainName;
            public LSA_UNICODE_STRING DnsForestName;
            public Guid DomainGuid;
            public IntPtr Sid;
        }
    }

    public static class LocalPolicy
    {
        [DllImport("advapi32.dll")]
        private static extern UInt32 LsaOpenPolicy(IntPtr systemName, ref NativeHelpers.LSA_OBJECT_ATTRIBUTES objectAttributes,
            UInt32 desiredAccess, out IntPtr policyHandle);

        [DllImport("advapi32.dll")]
        private static extern UInt32 LsaQueryInformationPolicy(IntPtr policyHandle, Int32 informationClass,
            out IntPtr buffer);

        [DllImport("advapi32.dll")]
        private static extern UInt32 LsaFreeMemory(IntPtr buffer);

        [DllImport("advapi32.dll")]
        private static extern UInt32 LsaClose(IntPtr policyHandle);

        [DllImport("advapi32.dll")]
        private static extern Int32 LsaNtStatusToWinError(UInt32 status);

        private const UInt32 POLICY_VIEW_LOCAL_INFORMATION = 0x00000001;
        private const Int32 PolicyAccountDomainInformation = 5;
        private const Int32 PolicyDnsDomainInformation = 12;

        public static LsaDomain AccountDomain()
        {
            IntPtr buffer = Query(PolicyAccountDomainInformation);
            try
            {
                NativeHelpers.POLICY_ACCOUNT_DOMAIN_INFO info = (NativeHelpers.POLICY_ACCOUNT_DOMAIN_INFO)Marshal.PtrToStructure(
                    buffer, typeof(NativeHelpers.POLICY_ACCOUNT_DOMAIN_INFO));
                return new LsaDomain { Name = ToText(info.DomainName), Sid = ToSid(info.DomainSid) };
            }
            finally
            {
                LsaFreeMemory(buffer);
            }
        }

        public static LsaDomain PrimaryDomain()
        {
            IntPtr buffer = Query(PolicyDnsDomainInformation);
            try
            {
                NativeHelpers.POLICY_DNS_DOMAIN_INFO info = (NativeHelpers.POLICY_DNS_DOMAIN_INFO)Marshal.PtrToStructure(
                    buffer, typeof(NativeHelpers.POLICY_DNS_DOMAIN_INFO));
                return new LsaDomain
                {
                    Name = ToText(info.Name),
                    DnsName = ToText(info.DnsDomainName),
                    Sid = ToSid(info.Sid),
                };
            }
            finally
            {
                LsaFreeMemory(buffer);
            }
        }

        private static IntPtr Query(Int32 informationClass)
        {
            NativeHelpers.LSA_OBJECT_ATTRIBUTES attributes = new NativeHelpers.LSA_OBJECT_ATTRIBUTES();
            IntPtr policy;
            UInt32 status = LsaOpenPolicy(IntPtr.Zero, ref attributes, POLICY_VIEW_LOCAL_INFORMATION, out policy);
            if (status != 0)
                throw new Win32Exception(LsaNtStatusToWinError(status), "LsaOpenPolicy failed");
            try
            {
                IntPtr buffer;
                status = LsaQueryInformationPolicy(policy, informationClass, out buffer);
                if (status != 0)
                    throw new Win32Exception(LsaNtStatusToWinError(status), "LsaQueryInformationPolicy failed");
                return buffer;
            }
            finally
            {
                LsaClose(policy);
            }
        }

        private static string ToText(NativeHelpers.LSA_UNICODE_STRING value)
        {
            if (value.Buffer == IntPtr.Zero || value.Length == 0)
                return null;
            return Marshal.PtrToStringUni(value.Buffer, value.Length / 2);
        }

        private static string ToSid(IntPtr sid)
        {
            if (sid == IntPtr.Zero)
                return null;
            return new SecurityIdentifier(sid).Value;
        }
    }
}
'@

$script:lsaLoaded = $false

function Import-LocalPolicyType {
    # Compiled on first use only: workgroup machines that skip the domain, profiles and
    # connection sections never pay for it.
    if (-not $script:lsaLoaded) {
        Add-CSharpType -AnsibleModule $module -References $lsaSource
        $script:lsaLoaded = $true
    }
}

$script:machineSid = $null

function Get-MachineSid {
    if ($null -eq $script:machineSid) {
        Import-LocalPolicyType
        $script:machineSid = [WinImage.Generalize.ReadinessFacts.LocalPolicy]::AccountDomain().Sid
    }
    $script:machineSid
}

# ---------------------------------------------------------------------------
# os

function Read-OsFact {
    param([System.Collections.IDictionary]$Section)

    # The CurrentVersion values the schema names. Microsoft does not document them as an
    # interface; Win32_OperatingSystem below cross-checks the version.
    $currentVersion = 'SOFTWARE\Microsoft\Windows NT\CurrentVersion'
    Invoke-FactStep "reading HKLM\$currentVersion" {
        $Section.product_name = Get-MachineValue $currentVersion 'ProductName'
        $Section.edition_id = Get-MachineValue $currentVersion 'EditionID'
        $Section.build = ConvertTo-NullableInt (Get-MachineValue $currentVersion 'CurrentBuildNumber')
        $Section.ubr = ConvertTo-NullableInt (Get-MachineValue $currentVersion 'UBR')
        # DisplayVersion replaced ReleaseId in Windows 10 20H2; older builds only have ReleaseId.
        $displayVersion = Get-MachineValue $currentVersion 'DisplayVersion'
        if (-not $displayVersion) {
            $displayVersion = Get-MachineValue $currentVersion 'ReleaseId'
        }
        $Section.display_version = $displayVersion
        $Section.installation_type = Get-MachineValue $currentVersion 'InstallationType'
        # CurrentVersion stays '6.3' on Windows 10 and later; the major/minor numbers are right.
        $major = Get-MachineValue $currentVersion 'CurrentMajorVersionNumber'
        if ($null -ne $major) {
            $Section.version = '{0}.{1}' -f $major, (Get-MachineValue $currentVersion 'CurrentMinorVersionNumber')
        }
        else {
            $Section.version = Get-MachineValue $currentVersion 'CurrentVersion'
        }
    }

    # Win32_OperatingSystem: Version, ProductType (1 workstation, 2 domain controller,
    # 3 server), WindowsDirectory.
    # https://learn.microsoft.com/windows/win32/cimwin32prov/win32-operatingsystem
    $os = Invoke-FactStep 'Win32_OperatingSystem query' {
        Get-CimInstance -ClassName Win32_OperatingSystem -Property @('Version', 'ProductType', 'WindowsDirectory')
    }
    if ($null -ne $os) {
        $versionParts = "$($os.Version)".Split('.')
        if ($versionParts.Count -ge 2) {
            $Section.version = '{0}.{1}' -f $versionParts[0], $versionParts[1]
        }
        $Section.system_root = [string]$os.WindowsDirectory
    }
    if (-not $Section.system_root) {
        $Section.system_root = $env:SystemRoot
    }

    # The installation's own architecture, not the (possibly WOW64) process's:
    # the machine environment keeps PROCESSOR_ARCHITECTURE = AMD64 | x86 | ARM64.
    # https://learn.microsoft.com/windows/win32/winprog64/wow64-implementation-details
    Invoke-FactStep 'reading PROCESSOR_ARCHITECTURE' {
        $architecture = Get-MachineValue 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment' 'PROCESSOR_ARCHITECTURE'
        $Section.architecture = switch ("$architecture".ToUpperInvariant()) {
            'AMD64' { 'amd64' }
            'X86' { 'x86' }
            'ARM64' { 'arm64' }
            default { $null }
        }
        if ($null -eq $Section.architecture -and $architecture) {
            throw "unexpected PROCESSOR_ARCHITECTURE '$architecture'"
        }
    }

    # ProductOptions ProductType: WinNT (client), ServerNT (server), LanmanNT (domain controller);
    # the registry form of Win32_OperatingSystem.ProductType 1/3/2, which is the fallback.
    Invoke-FactStep 'reading ProductOptions ProductType' {
        $productType = Get-MachineValue 'SYSTEM\CurrentControlSet\Control\ProductOptions' 'ProductType'
        if (-not $productType -and $null -ne $os) {
            $productType = switch ([int]$os.ProductType) {
                1 { 'WinNT' }
                2 { 'LanmanNT' }
                3 { 'ServerNT' }
                default { $null }
            }
        }
        $Section.product_type = $productType
        if ($productType) {
            $Section.is_server = $productType -ne 'WinNT'
        }
    }

    # The installation (system default UI) language, not Get-Culture: that is the connecting
    # user's format preference. Nls\Language InstallLanguage holds the LCID in hex ('0409');
    # the value is not described on learn.microsoft.com, so when it is missing the documented
    # CultureInfo.InstalledUICulture ("the culture installed with the operating system") is used:
    # https://learn.microsoft.com/dotnet/api/system.globalization.cultureinfo.installeduiculture
    Invoke-FactStep 'reading the installation language' {
        $lcid = Get-MachineValue 'SYSTEM\CurrentControlSet\Control\Nls\Language' 'InstallLanguage'
        if ($lcid) {
            $Section.language = [Globalization.CultureInfo]::GetCultureInfo([Convert]::ToInt32([string]$lcid, 16)).Name
        }
        else {
            $Section.language = [Globalization.CultureInfo]::InstalledUICulture.Name
        }
    }

    # NetBIOS name of this computer:
    # https://learn.microsoft.com/dotnet/api/system.environment.machinename
    $Section.computer_name = [Environment]::MachineName
}

# ---------------------------------------------------------------------------
# domain

function Read-DomainFact {
    param([System.Collections.IDictionary]$Section)

    # Win32_ComputerSystem PartOfDomain, Domain, DomainRole (0-5) and Workgroup:
    # https://learn.microsoft.com/windows/win32/cimwin32prov/win32-computersystem
    $computer = Invoke-FactStep 'Win32_ComputerSystem query' {
        Get-CimInstance -ClassName Win32_ComputerSystem -Property @('PartOfDomain', 'Domain', 'DomainRole', 'Workgroup')
    }
    if ($null -eq $computer) {
        return
    }

    $Section.joined = [bool]$computer.PartOfDomain
    $Section.role = switch ([int]$computer.DomainRole) {
        0 { 'standalone_workstation' }
        1 { 'member_workstation' }
        2 { 'standalone_server' }
        3 { 'member_server' }
        4 { 'backup_domain_controller' }
        5 { 'primary_domain_controller' }
        default { $null }
    }
    if ($null -ne $Section.role) {
        $Section.is_domain_controller = [int]$computer.DomainRole -ge 4
    }

    if (-not $Section.joined) {
        $Section.workgroup = [string]$computer.Workgroup
        $Section.netbios_domain = $Section.workgroup
        return
    }

    $Section.dns_domain = [string]$computer.Domain
    Invoke-FactStep 'reading the primary domain from the local security policy' {
        Import-LocalPolicyType
        $primary = [WinImage.Generalize.ReadinessFacts.LocalPolicy]::PrimaryDomain()
        $Section.netbios_domain = $primary.Name
        $Section.domain_sid = $primary.Sid
    }

    # Netlogon keeps the site it found in DynamicSiteName; an administrator's SiteName
    # takes precedence over it.
    # https://learn.microsoft.com/previous-versions/windows/it-pro/windows-2000-server/cc960209(v=technet.10)
    Invoke-FactStep 'reading the Netlogon site name' {
        $netlogon = 'SYSTEM\CurrentControlSet\Services\Netlogon\Parameters'
        $site = Get-MachineValue $netlogon 'SiteName'
        if (-not $site) {
            $site = Get-MachineValue $netlogon 'DynamicSiteName'
        }
        $Section.site_name = $site
    }
}

# ---------------------------------------------------------------------------
# pending

function Get-PendingRenameCount {
    # PendingFileRenameOperations is a REG_MULTI_SZ of source/target pairs (an empty target
    # deletes the source) that the Session Manager performs at boot (MoveFileEx
    # MOVEFILE_DELAY_UNTIL_REBOOT; https://learn.microsoft.com/sysinternals/downloads/pendmoves).
    # .NET may drop a trailing empty target, hence the rounding up.
    param([string]$Name)

    $entries = Get-MachineValue 'SYSTEM\CurrentControlSet\Control\Session Manager' $Name
    if ($null -eq $entries) {
        return 0
    }
    [long][Math]::Ceiling(@($entries).Count / 2)
}

function Read-PendingFact {
    param([System.Collections.IDictionary]$Section)

    # The reboot markers Microsoft's Scripting Guys list for "pending reboot":
    # https://devblogs.microsoft.com/scripting/determine-pending-reboot-statuspowershell-style-part-1/
    $servicing = 'SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing'
    Invoke-FactStep 'reading Component Based Servicing' {
        $Section.cbs_reboot_pending = Test-MachineKey "$servicing\RebootPending"
        $Section.cbs_packages_pending = Test-MachineKey "$servicing\PackagesPending"
    }

    # Not documented by Microsoft: WinSxS\pending.xml holds servicing operations queued for
    # the next boot, and a non-zero SessionsPending 'Exclusive' marks a session that must
    # finish exclusively. Reported as evidence only; the rules treat it as a warning.
    Invoke-FactStep 'reading CBS sessions and pending.xml' {
        $exclusive = Get-MachineValue "$servicing\SessionsPending" 'Exclusive'
        $pendingXml = Join-Path -Path $env:SystemRoot -ChildPath 'WinSxS'
        $Section.cbs_operations_in_progress = (Test-RootFile -Directory $pendingXml -Name 'pending.xml') -or
            (($null -ne $exclusive) -and ([long]$exclusive -ne 0))
    }

    Invoke-FactStep 'reading Windows Update RebootRequired' {
        $Section.windows_update_reboot_required = Test-MachineKey 'SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired'
    }

    Invoke-FactStep 'reading PendingFileRenameOperations' {
        $Section.file_rename_operations = (Get-PendingRenameCount 'PendingFileRenameOperations') +
            (Get-PendingRenameCount 'PendingFileRenameOperations2')
    }

    Invoke-FactStep 'comparing ActiveComputerName with ComputerName' {
        $names = 'SYSTEM\CurrentControlSet\Control\ComputerName'
        $active = Get-MachineValue "$names\ActiveComputerName" 'ComputerName'
        $next = Get-MachineValue "$names\ComputerName" 'ComputerName'
        if ($active -and $next) {
            $Section.computer_rename_pending = -not [string]::Equals($active, $next, [StringComparison]::OrdinalIgnoreCase)
        }
    }
}

# ---------------------------------------------------------------------------
# bitlocker

function ConvertTo-SnakeCase {
    param([string]$Text)

    ($Text -creplace '(?<=[a-z0-9])([A-Z])', '_$1').ToLowerInvariant()
}

function ConvertTo-VolumeStatus {
    # Get-BitLockerVolume VolumeStatus names and Win32_EncryptableVolume ConversionStatus
    # names (FullyDecrypted ... DecryptionPaused) map onto the schema; anything else is 'unknown'.
    param([string]$Name)

    $known = @('fully_decrypted', 'fully_encrypted', 'encryption_in_progress', 'decryption_in_progress',
        'encryption_paused', 'decryption_paused')
    $status = (ConvertTo-SnakeCase $Name) -replace '_suspended$', '_paused'
    if ($known -contains $status) {
        return $status
    }
    'unknown'
}

function Read-BitLockerFact {
    param([System.Collections.IDictionary]$Section)

    $Section.os_volume = $env:SystemDrive

    # Get-BitLockerVolume: https://learn.microsoft.com/powershell/module/bitlocker/get-bitlockervolume
    if (Get-Command -Name Get-BitLockerVolume -ErrorAction SilentlyContinue) {
        $volume = Invoke-FactStep 'Get-BitLockerVolume' {
            Get-BitLockerVolume -MountPoint $env:SystemDrive
        }
        if ($null -ne $volume) {
            $Section.protection_status = ([string]$volume.ProtectionStatus).ToLowerInvariant()
            $Section.volume_status = ConvertTo-VolumeStatus ([string]$volume.VolumeStatus)
            $Section.encryption_percentage = ConvertTo-NullableInt $volume.EncryptionPercentage
            return
        }
    }

    # Without the BitLocker module (e.g. Server Core without the feature) ask the WMI provider.
    # ProtectionStatus 0 off, 1 on, 2 unknown:
    # https://learn.microsoft.com/windows/win32/secprov/win32-encryptablevolume
    # GetConversionStatus ConversionStatus 0-5 and EncryptionPercentage:
    # https://learn.microsoft.com/windows/win32/secprov/getconversionstatus-win32-encryptablevolume
    Invoke-FactStep 'Win32_EncryptableVolume query' {
        $query = @{
            Namespace = 'root\cimv2\Security\MicrosoftVolumeEncryption'
            ClassName = 'Win32_EncryptableVolume'
            Filter = "DriveLetter = '{0}'" -f $env:SystemDrive
        }
        $encryptable = Get-CimInstance @query
        if ($null -eq $encryptable) {
            throw "no Win32_EncryptableVolume for $env:SystemDrive"
        }
        $Section.protection_status = switch ([int]$encryptable.ProtectionStatus) {
            0 { 'off' }
            1 { 'on' }
            default { 'unknown' }
        }
        $conversion = Invoke-CimMethod -InputObject $encryptable -MethodName GetConversionStatus
        $conversionNames = @('FullyDecrypted', 'FullyEncrypted', 'EncryptionInProgress', 'DecryptionInProgress',
            'EncryptionPaused', 'DecryptionPaused')
        $code = [int]$conversion.ConversionStatus
        if ($code -ge 0 -and $code -lt $conversionNames.Count) {
            $Section.volume_status = ConvertTo-VolumeStatus $conversionNames[$code]
        }
        else {
            $Section.volume_status = 'unknown'
        }
        $Section.encryption_percentage = ConvertTo-NullableInt $conversion.EncryptionPercentage
    }
}

# ---------------------------------------------------------------------------
# appx

function ConvertTo-AppxPackageFact {
    # One Get-AppxPackage object as schema data. Also runs inside the child powershell.exe
    # (see Get-AllUsersAppxPackage), so it uses nothing but its argument.
    # https://learn.microsoft.com/powershell/module/appx/get-appxpackage
    # PackageUserInformation InstallState / UserSecurityId:
    # https://learn.microsoft.com/uwp/api/windows.management.deployment.packageuserinformation
    param($Package)

    $users = @(foreach ($info in @($Package.PackageUserInformation)) {
            if ($null -eq $info) {
                continue
            }
            $username = [string]$info.UserSecurityId.UserName
            [ordered]@{
                sid = [string]$info.UserSecurityId.Sid
                username = if ($username) { $username } else { $null }
                install_state = [string]$info.InstallState
            }
        })
    $properties = $Package.PSObject.Properties
    [ordered]@{
        name = [string]$Package.Name
        package_full_name = [string]$Package.PackageFullName
        version = [string]$Package.Version
        architecture = [string]$Package.Architecture
        users = $users
        is_framework = if ($properties['IsFramework']) { [bool]$Package.IsFramework } else { $null }
        non_removable = if ($properties['NonRemovable']) { [bool]$Package.NonRemovable } else { $null }
        signature_kind = if ($properties['SignatureKind']) { [string]$Package.SignatureKind } else { $null }
    }
}

function Get-AppxChildScript {
    # A Windows PowerShell 5.1 script that runs the same query and prints the result as
    # base64 of UTF-8 JSON (ASCII-safe whatever the console code page).
    $projection = (Get-Command -Name ConvertTo-AppxPackageFact -CommandType Function).Definition
    @"
`$ErrorActionPreference = 'Stop'
function ConvertTo-AppxPackageFact {
$projection
}
`$packages = @(Get-AppxPackage -AllUsers | ForEach-Object { ConvertTo-AppxPackageFact -Package `$_ })
`$json = ConvertTo-Json -InputObject `$packages -Depth 6 -Compress
[Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes(`$json))
"@
}

function Get-AllUsersAppxPackage {
    # Known failure: on Windows 11 24H2 / Server 2025 Get-AppxPackage throws
    # TypeInitializationException (WinRT.Projections cannot load System.Numerics.Vectors
    # 4.1.4.0) inside a WinRM/PSRP-hosted module, while the same query works in a
    # powershell.exe process (ansible-collections/ansible.windows issue 756;
    # AutomatedLab/AutomatedLab issue 1670). PowerShell 7 cannot load the Appx module at
    # all (PowerShell/PowerShell issue 15292). So: in-process first, then one child
    # Windows PowerShell 5.1 process; both failures are reported together.
    $inProcessError = $null
    try {
        return , @(Get-AppxPackage -AllUsers | ForEach-Object { ConvertTo-AppxPackageFact -Package $_ })
    }
    catch {
        $inProcessError = $_.Exception.Message
    }

    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes((Get-AppxChildScript)))
    $powershell = Join-Path -Path ([Environment]::SystemDirectory) -ChildPath 'WindowsPowerShell\v1.0\powershell.exe'
    $child = Run-Command -command "`"$powershell`" -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand $encoded"
    $lines = @($child.stdout -split "`r?`n" | Where-Object { $_.Trim() })
    if ($child.rc -ne 0 -or $lines.Count -eq 0) {
        $detail = "$($child.stderr)".Trim()
        if ($detail.Length -gt 600) {
            $detail = $detail.Substring(0, 600) + '...'
        }
        throw ("Get-AppxPackage -AllUsers failed in the module process ({0}) and in a child powershell.exe " +
            "(exit code {1}: {2}); known Windows 11 24H2 / Server 2025 remoting failure, " +
            "see ansible-collections/ansible.windows issue 756") -f $inProcessError, $child.rc, $detail
    }
    $json = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($lines[-1].Trim()))
    , @([Ansible.Basic.AnsibleModule]::FromJson($json))
}

function Read-AppxFact {
    param([System.Collections.IDictionary]$Section)

    if (-not (Get-Command -Name Get-AppxPackage -ErrorAction SilentlyContinue)) {
        Add-SectionError -Name 'appx' -Message 'Get-AppxPackage: the Appx module is not available on this installation'
    }
    else {
        Invoke-FactStep 'Get-AppxPackage -AllUsers' {
            $Section.packages = Get-AllUsersAppxPackage
        }
    }

    # https://learn.microsoft.com/powershell/module/dism/get-appxprovisionedpackage
    Invoke-FactStep 'Get-AppxProvisionedPackage -Online' {
        $Section.provisioned = @(Get-AppxProvisionedPackage -Online | ForEach-Object {
                [ordered]@{
                    display_name = [string]$_.DisplayName
                    package_name = [string]$_.PackageName
                    version = [string]$_.Version
                }
            })
    }

    # Group Policy "Turn off Automatic Download and Install of updates" (WindowsStore.admx):
    # AutoDownload 2 = updates off, 4 = on; absent when the policy is not configured.
    Invoke-FactStep 'reading the WindowsStore AutoDownload policy' {
        $Section.store_auto_download = ConvertTo-NullableInt (Get-MachineValue 'SOFTWARE\Policies\Microsoft\WindowsStore' 'AutoDownload')
    }
}

# ---------------------------------------------------------------------------
# licensing

function Read-LicensingFact {
    param([System.Collections.IDictionary]$Section)

    # SoftwareLicensingService RemainingWindowsReArmCount (what slmgr /dlv shows):
    # https://learn.microsoft.com/previous-versions/windows/desktop/sppwmi/softwarelicensingservice
    Invoke-FactStep 'SoftwareLicensingService query' {
        $service = Get-CimInstance -ClassName SoftwareLicensingService -Property RemainingWindowsReArmCount
        $Section.remaining_rearm_count = ConvertTo-NullableInt $service.RemainingWindowsReArmCount
    }

    # SkipRearm (seed "Sysprep, SkipRearm, and Image Build Best Practices").
    Invoke-FactStep 'reading SoftwareProtectionPlatform SkipRearm' {
        $Section.skip_rearm = ConvertTo-NullableInt (Get-MachineValue 'SOFTWARE\Microsoft\Windows NT\CurrentVersion\SoftwareProtectionPlatform' 'SkipRearm')
    }

    # The Windows product is the licensed SKU of the Windows application; its ApplicationID is
    # the WindowsAppId that %SystemRoot%\System32\slmgr.vbs uses. LicenseStatus 0-6:
    # https://learn.microsoft.com/previous-versions/windows/desktop/sppwmi/softwarelicensingproduct
    Invoke-FactStep 'SoftwareLicensingProduct query' {
        $filter = "ApplicationID = '55c92734-d682-4d71-983e-d6ec3f16059f' AND PartialProductKey IS NOT NULL"
        $product = @(Get-CimInstance -ClassName SoftwareLicensingProduct -Filter $filter -Property LicenseStatus) |
            Select-Object -First 1
        if ($null -eq $product) {
            throw 'no Windows product with an installed product key'
        }
        $Section.license_status = switch ([int]$product.LicenseStatus) {
            0 { 'unlicensed' }
            1 { 'licensed' }
            2 { 'oob_grace' }
            3 { 'oot_grace' }
            4 { 'non_genuine_grace' }
            5 { 'notification' }
            6 { 'extended_grace' }
            default { 'unknown' }
        }
    }
}

# ---------------------------------------------------------------------------
# setup

function Read-StateIniImageState {
    # %WINDIR%\Setup\State\State.ini, section [State], ImageState=...
    $stateIni = Join-Path -Path $env:SystemRoot -ChildPath 'Setup\State\State.ini'
    if (-not (Test-Path -LiteralPath $stateIni -PathType Leaf)) {
        return $null
    }
    foreach ($line in (Get-Content -LiteralPath $stateIni)) {
        if ($line -match '^\s*ImageState\s*=\s*(\S+)') {
            return $Matches[1]
        }
    }
    $null
}

function Get-UpgradeHistory {
    # In-place upgrades leave SYSTEM\Setup\Source OS (Updated on <date>) keys describing the
    # earlier installation. Not documented by Microsoft; seen in the shared win10-1903-upgraded
    # SYSTEM hive (1703 -> 1803 -> 18362). Oldest first.
    $index = 0
    $entries = foreach ($name in @(Get-MachineSubKeyName 'SYSTEM\Setup')) {
        if ($name -notlike 'Source OS (Updated on *') {
            continue
        }
        $key = "SYSTEM\Setup\$name"
        $when = [datetime]::MinValue
        $stamp = $name -replace '^Source OS \(Updated on (.+)\)$', '$1'
        $null = [datetime]::TryParseExact($stamp, 'M/d/yyyy HH:mm:ss', [Globalization.CultureInfo]::InvariantCulture,
            [Globalization.DateTimeStyles]::None, [ref]$when)
        $release = Get-MachineValue $key 'DisplayVersion'
        if (-not $release) {
            $release = Get-MachineValue $key 'ReleaseId'
        }
        $label = '{0} {1} (build {2})' -f (Get-MachineValue $key 'ProductName'), $release, (Get-MachineValue $key 'CurrentBuildNumber')
        $index++
        [pscustomobject]@{ When = $when; Index = $index; Label = ($label -replace '\s+', ' ').Trim() }
    }
    , @($entries | Sort-Object -Property @('When', 'Index') | ForEach-Object { $_.Label })
}

function Read-SetupFact {
    param([System.Collections.IDictionary]$Section)

    # Windows Setup states: registry Setup\State ImageState and State.ini.
    # https://learn.microsoft.com/windows-hardware/manufacture/desktop/windows-setup-states
    Invoke-FactStep 'reading ImageState' {
        $imageState = Get-MachineValue 'SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State' 'ImageState'
        if (-not $imageState) {
            $imageState = Read-StateIniImageState
        }
        $Section.image_state = $imageState
    }

    # SysprepStatus GeneralizationState / CleanupState. Not documented on learn.microsoft.com;
    # read as plain numbers (the shared win10-1903 SYSTEM hive has GeneralizationState 7).
    Invoke-FactStep 'reading SysprepStatus' {
        $status = 'SYSTEM\Setup\Status\SysprepStatus'
        $Section.generalization_state = ConvertTo-NullableInt (Get-MachineValue $status 'GeneralizationState')
        $Section.cleanup_state = ConvertTo-NullableInt (Get-MachineValue $status 'CleanupState')
    }

    # SYSTEM\Setup flags (SystemSetupInProgress / OOBEInProgress are 0 on the shared win10-1903
    # SYSTEM hive). AuditInProgress is only present while audit mode runs (absent on that hive of
    # a machine in normal mode), so absence reads as false.
    Invoke-FactStep 'reading HKLM\SYSTEM\Setup' {
        $Section.system_setup_in_progress = ConvertTo-NullableFlag (Get-MachineValue 'SYSTEM\Setup' 'SystemSetupInProgress')
        $Section.oobe_in_progress = ConvertTo-NullableFlag (Get-MachineValue 'SYSTEM\Setup' 'OOBEInProgress')
        $audit = ConvertTo-NullableFlag (Get-MachineValue 'SYSTEM\Setup' 'AuditInProgress')
        $Section.audit_mode = $audit -eq $true
    }

    Invoke-FactStep 'reading Source OS upgrade keys' {
        $history = Get-UpgradeHistory
        $Section.upgrade_history = $history
        $Section.upgraded = $history.Count -gt 0
    }

    # https://learn.microsoft.com/powershell/module/microsoft.powershell.management/get-process
    Invoke-FactStep 'looking for sysprep.exe' {
        $Section.sysprep_running = @(Get-Process -Name sysprep -ErrorAction SilentlyContinue).Count -gt 0
    }
}

# ---------------------------------------------------------------------------
# roles

function Read-XmlDocument {
    # Parses an XML file opened read-only, with DTDs refused so a crafted file cannot make
    # the parser fetch anything (XmlReaderSettings.DtdProcessing / XmlResolver:
    # https://learn.microsoft.com/dotnet/api/system.xml.xmlreadersettings).
    param([string]$Path)

    $settings = New-Object -TypeName System.Xml.XmlReaderSettings
    $settings.DtdProcessing = [System.Xml.DtdProcessing]::Prohibit
    $settings.XmlResolver = $null
    $stream = [System.IO.File]::OpenRead($Path)
    try {
        $reader = [System.Xml.XmlReader]::Create($stream, $settings)
        try {
            $document = New-Object -TypeName System.Xml.XmlDocument
            $document.Load($reader)
            # An XmlDocument is enumerable: without the comma the pipeline would unroll it
            # into its child nodes.
            , $document
        }
        finally {
            $reader.Dispose()
        }
    }
    finally {
        $stream.Dispose()
    }
}

function Get-IasConfiguration {
    # NPS keeps its configuration in %SystemRoot%\System32\ias\ias.xml: RADIUS clients under
    # ...\Microsoft_Radius_Protocol\Children\Clients\Children and remote RADIUS server groups
    # under ...\RADIUS_Server_Groups\Children. Not in Microsoft's docs (the supported tools
    # are netsh nps show client / show remoteservergroup, whose text output is localized);
    # the layout is the one NPS exports. Only element counts are read, never a shared secret.
    $path = Join-Path -Path ([Environment]::SystemDirectory) -ChildPath 'ias\ias.xml'
    if (-not (Test-Path -LiteralPath $path -PathType Leaf)) {
        throw "NPS configuration $path not found"
    }
    $document = Read-XmlDocument -Path $path
    $service = '/Root/Children/Microsoft_Internet_Authentication_Service/Children'
    [pscustomobject]@{
        Clients = $document.SelectNodes("$service/Protocols/Children/Microsoft_Radius_Protocol/Children/Clients/Children/*").Count
        ServerGroups = $document.SelectNodes("$service/RADIUS_Server_Groups/Children/*").Count
    }
}

function Read-NpsConfiguration {
    param([System.Collections.IDictionary]$Section)

    # Remove RADIUS clients and remote RADIUS server groups before imaging:
    # https://learn.microsoft.com/windows-hardware/manufacture/desktop/prepare-a-network-policy-server-nps-for-imaging
    # Get-NpsRadiusClient: https://learn.microsoft.com/powershell/module/nps/get-npsradiusclient
    if (Get-Command -Name Get-NpsRadiusClient -ErrorAction SilentlyContinue) {
        Invoke-FactStep 'Get-NpsRadiusClient' {
            $Section.nps_radius_clients = [long]@(Get-NpsRadiusClient).Count
        }
    }
    Invoke-FactStep 'reading the NPS configuration (ias.xml)' {
        $ias = Get-IasConfiguration
        if ($null -eq $Section.nps_radius_clients) {
            $Section.nps_radius_clients = [long]$ias.Clients
        }
        $Section.nps_remote_server_groups = [long]$ias.ServerGroups
    }
}

function Read-RoleFact {
    param([System.Collections.IDictionary]$Section)

    $productType = Invoke-FactStep 'reading ProductOptions ProductType' {
        Get-MachineValue 'SYSTEM\CurrentControlSet\Control\ProductOptions' 'ProductType'
    }
    if ($productType -eq 'WinNT') {
        # Client editions have no server roles (Get-WindowsFeature refuses client targets);
        # Hyper-V is the optional feature Microsoft-Hyper-V there.
        # https://learn.microsoft.com/virtualization/hyper-v-on-windows/quick-start/enable-hyper-v
        $Section.installed = @()
        $Section.nps = $false
        $Section.nps_radius_clients = 0
        $Section.nps_remote_server_groups = 0
        Invoke-FactStep 'Get-WindowsOptionalFeature Microsoft-Hyper-V' {
            $feature = Get-WindowsOptionalFeature -Online -FeatureName Microsoft-Hyper-V
            $Section.hyperv = ($null -ne $feature) -and ([string]$feature.State -eq 'Enabled')
        }
        return
    }

    # Get-WindowsFeature (ServerManager): https://learn.microsoft.com/powershell/module/servermanager/get-windowsfeature
    $names = Invoke-FactStep 'Get-WindowsFeature' {
        , @(Get-WindowsFeature | Where-Object { $_.Installed } | ForEach-Object { [string]$_.Name } | Sort-Object)
    }
    if ($null -eq $names) {
        return
    }
    $Section.installed = $names
    $Section.hyperv = $names -contains 'Hyper-V'
    # NPAS (2016 and later) or its role service NPAS-Policy-Server (2008 R2 / 2012):
    # https://learn.microsoft.com/windows-server/networking/technologies/nps/nps-manage-install
    $Section.nps = ($names -contains 'NPAS') -or ($names -contains 'NPAS-Policy-Server')
    if ($Section.nps) {
        Read-NpsConfiguration -Section $Section
    }
    else {
        # Without the NPS role there is no NPS configuration to carry into the image.
        $Section.nps_radius_clients = 0
        $Section.nps_remote_server_groups = 0
    }
}

# ---------------------------------------------------------------------------
# hyperv

function Read-HypervisorLaunchType {
    # bcdedit /enum {current}: the hypervisorlaunchtype element (Off | Auto) of the boot entry.
    # https://learn.microsoft.com/windows-hardware/drivers/devtest/bcdedit--set
    $bcd = Run-Command -command 'bcdedit.exe /enum {current}'
    if ($bcd.rc -ne 0) {
        throw "bcdedit.exe exited with $($bcd.rc): $($bcd.stdout.Trim()) $($bcd.stderr.Trim())"
    }
    foreach ($line in ($bcd.stdout -split "`r?`n")) {
        if ($line -match '^\s*hypervisorlaunchtype\s+(\S+)') {
            return $Matches[1]
        }
    }
    $null
}

function Read-HyperVFact {
    param([System.Collections.IDictionary]$Section)

    Invoke-FactStep 'reading hypervisorlaunchtype (bcdedit)' {
        $Section.hypervisor_launch_type = Read-HypervisorLaunchType
    }

    if (-not (Get-Command -Name Get-VM -ErrorAction SilentlyContinue)) {
        # No Hyper-V module: without the Virtual Machine Management service (vmms) no VM or
        # virtual switch can exist; with it, the module is missing and nothing can be listed.
        if ($null -eq (Get-Service -Name vmms -ErrorAction SilentlyContinue)) {
            $Section.vms = @()
            $Section.switches = @()
        }
        else {
            Add-SectionError -Name 'hyperv' -Message ('Get-VM: the Hyper-V role is installed without its PowerShell ' +
                'module; install the Hyper-V-PowerShell feature to list virtual machines')
        }
        return
    }

    # Get-VM, Get-VMSnapshot: https://learn.microsoft.com/powershell/module/hyper-v/get-vm
    # https://learn.microsoft.com/powershell/module/hyper-v/get-vmsnapshot
    Invoke-FactStep 'Get-VM' {
        $Section.vms = @(Get-VM | ForEach-Object {
                [ordered]@{
                    name = [string]$_.Name
                    state = [string]$_.State
                    checkpoints = [long]@(Get-VMSnapshot -VM $_).Count
                }
            })
    }

    # SwitchType External | Internal | Private; NetAdapterInterfaceDescription for External.
    # https://learn.microsoft.com/powershell/module/hyper-v/get-vmswitch
    Invoke-FactStep 'Get-VMSwitch' {
        $Section.switches = @(Get-VMSwitch | ForEach-Object {
                [ordered]@{
                    name = [string]$_.Name
                    type = [string]$_.SwitchType
                    adapter = if ($_.NetAdapterInterfaceDescription) { [string]$_.NetAdapterInterfaceDescription } else { $null }
                }
            })
    }

    # The dynamic MAC range the generalize pass clears (seed "Sysprep a system running Hyper-V").
    # https://learn.microsoft.com/powershell/module/hyper-v/set-vmhost
    Invoke-FactStep 'Get-VMHost' {
        $vmHost = Get-VMHost
        $Section.mac_address_minimum = [string]$vmHost.MacAddressMinimum
        $Section.mac_address_maximum = [string]$vmHost.MacAddressMaximum
    }
}

# ---------------------------------------------------------------------------
# answer_files

function Get-AnswerFileCandidate {
    # Where Windows Setup looks for and caches answer files (implicit search order):
    # https://learn.microsoft.com/windows-hardware/manufacture/desktop/windows-setup-automation-overview
    $windows = $env:SystemRoot
    $systemDrive = "$env:SystemDrive\"
    $places = @(
        @{ Directory = Join-Path -Path $windows -ChildPath 'Panther'; Filter = 'unattend.xml' }
        @{ Directory = Join-Path -Path $windows -ChildPath 'Panther\Unattend'; Filter = '*.xml' }
        @{ Directory = Join-Path -Path $windows -ChildPath 'System32\Sysprep'; Filter = 'unattend.xml' }
        @{ Directory = $systemDrive; Filter = 'unattend.xml' }
        @{ Directory = $systemDrive; Filter = 'autounattend.xml' }
    )
    $found = New-Object -TypeName 'System.Collections.Generic.SortedSet[string]' -ArgumentList @([StringComparer]::OrdinalIgnoreCase)
    foreach ($place in $places) {
        if (Test-Path -LiteralPath $place.Directory -PathType Container) {
            foreach ($file in @(Get-ChildItem -LiteralPath $place.Directory -Filter $place.Filter -Force -File)) {
                $null = $found.Add($file.FullName)
            }
        }
    }
    # The first place Setup looks: HKLM\System\Setup UnattendFile.
    $registered = Get-MachineValue 'SYSTEM\Setup' 'UnattendFile'
    if ($registered -and (Test-Path -LiteralPath ([Environment]::ExpandEnvironmentVariables($registered)) -PathType Leaf)) {
        $null = $found.Add([Environment]::ExpandEnvironmentVariables($registered))
    }
    , @($found)
}

function Test-SecretElement {
    # A Password-like element holds a secret when its <Value> child (or, without element
    # children, its own text) is not empty. The text is only tested, never returned.
    param([System.Xml.XmlElement]$Element)

    $children = @($Element.ChildNodes | Where-Object { $_.NodeType -eq [System.Xml.XmlNodeType]::Element })
    if ($children.Count -eq 0) {
        return -not [string]::IsNullOrWhiteSpace($Element.InnerText)
    }
    foreach ($child in $children) {
        if ($child.LocalName -eq 'Value' -and -not [string]::IsNullOrWhiteSpace($child.InnerText)) {
            return $true
        }
    }
    $false
}

function Read-AnswerFile {
    # One answer file: which password elements carry a value (their names, never the value)
    # and whether Microsoft-Windows-Shell-Setup AutoLogon is enabled.
    param([string]$Path)

    $result = [ordered]@{
        path = $Path
        contains_password = $false
        password_elements = @()
        autologon = $false
    }
    try {
        $document = Read-XmlDocument -Path $Path
    }
    catch {
        # PowerShell wraps exceptions of .NET calls; look for the parser's own.
        $xmlError = $_.Exception
        while ($null -ne $xmlError -and $xmlError -isnot [System.Xml.XmlException]) {
            $xmlError = $xmlError.InnerException
        }
        if ($null -eq $xmlError) {
            throw
        }
        # Not well-formed: the parser message may quote file content, so only the position
        # is reported, and the file is treated as holding a password if it names one.
        $names = @([regex]::Matches((Get-Content -LiteralPath $Path -Raw), '<(?:\w+:)?(AdministratorPassword|Password)\b') |
                ForEach-Object { $_.Groups[1].Value } | Sort-Object -Unique)
        $result.contains_password = $names.Count -gt 0
        $result.password_elements = $names
        $result.autologon = $null
        Add-SectionError -Name 'answer_files' -Message ('{0} is not well-formed XML (line {1}, position {2})' -f
            $Path, $xmlError.LineNumber, $xmlError.LinePosition)
        return $result
    }

    $secretNames = New-Object -TypeName 'System.Collections.Generic.SortedSet[string]' -ArgumentList @([StringComparer]::Ordinal)
    foreach ($element in @($document.SelectNodes("//*[local-name()='Password' or local-name()='AdministratorPassword']"))) {
        if (Test-SecretElement -Element $element) {
            $parent = if ($element.ParentNode -is [System.Xml.XmlElement]) { $element.ParentNode.LocalName + '/' } else { '' }
            $null = $secretNames.Add($parent + $element.LocalName)
        }
    }
    $result.password_elements = @($secretNames)
    $result.contains_password = $secretNames.Count -gt 0
    foreach ($enabled in @($document.SelectNodes("//*[local-name()='AutoLogon']/*[local-name()='Enabled']"))) {
        if ($enabled.InnerText.Trim() -eq 'true') {
            $result.autologon = $true
        }
    }
    $result
}

function Read-AnswerFileFact {
    param([System.Collections.IDictionary]$Section)

    $paths = Invoke-FactStep 'looking for answer files' {
        Get-AnswerFileCandidate
    }
    if ($null -eq $paths) {
        return
    }
    $Section.files = @(foreach ($path in $paths) {
            try {
                Read-AnswerFile -Path $path
            }
            catch {
                # Unreadable: counted as holding a password, since nobody could check it.
                Add-SectionError -Name 'answer_files' -Message ('reading {0}: {1}' -f $path, $_.Exception.Message)
                [ordered]@{ path = $path; contains_password = $true; password_elements = @(); autologon = $null }
            }
        })
}

# ---------------------------------------------------------------------------
# autologon

function Read-AutoLogonFact {
    param([System.Collections.IDictionary]$Section)

    # Winlogon AutoAdminLogon ("1" enables), DefaultUserName, DefaultDomainName,
    # DefaultPassword (plain text: only its presence is tested), AutoLogonCount.
    # https://learn.microsoft.com/troubleshoot/windows-server/user-profiles-and-logon/turn-on-automatic-logon
    $winlogon = 'SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon'
    Invoke-FactStep "reading HKLM\$winlogon" {
        $Section.enabled = [string](Get-MachineValue $winlogon 'AutoAdminLogon') -eq '1'
        $Section.username = Get-MachineValue $winlogon 'DefaultUserName'
        $Section.domain = Get-MachineValue $winlogon 'DefaultDomainName'
        $Section.password_stored = Test-MachineValue $winlogon 'DefaultPassword'
        $Section.logon_count = ConvertTo-NullableInt (Get-MachineValue $winlogon 'AutoLogonCount')
    }
}

# ---------------------------------------------------------------------------
# profiles

function Resolve-ProfileUserName {
    # Local and well-known accounts are translated by the local LSA. Domain accounts are
    # named after their profile folder: translating them could wait on an unreachable
    # domain controller.
    param([string]$Sid, [string]$Path, $MachineSid)

    try {
        $identifier = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $Sid
        $accountDomain = $identifier.AccountDomainSid
        if ($null -eq $accountDomain -or ($MachineSid -and $accountDomain.Value -eq $MachineSid)) {
            return $identifier.Translate([System.Security.Principal.NTAccount]).Value
        }
    }
    catch {
        $null = $_  # deleted account or not a SID: fall back to the folder name
    }
    if ($Path) {
        return Split-Path -Path $Path -Leaf
    }
    $null
}

function Read-ProfileFact {
    param([System.Collections.IDictionary]$Section)

    $machineSid = Invoke-FactStep 'reading the machine SID from the local security policy' {
        Get-MachineSid
    }

    # ProfileList\<SID> ProfileImagePath (the profile list Windows keeps; Microsoft's profile
    # troubleshooting articles use it, no reference page describes it), minus LocalSystem,
    # LocalService and NetworkService:
    # https://learn.microsoft.com/windows/win32/secauthz/well-known-sids
    $profileList = 'SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList'
    Invoke-FactStep "reading HKLM\$profileList" {
        $Section.users = @(foreach ($sid in @(Get-MachineSubKeyName $profileList)) {
                if ($sid -in @('S-1-5-18', 'S-1-5-19', 'S-1-5-20')) {
                    continue
                }
                $path = Get-MachineValue "$profileList\$sid" 'ProfileImagePath'
                $bareSid = $sid -replace '\.bak$', ''
                [ordered]@{
                    sid = $sid
                    username = Resolve-ProfileUserName -Sid $bareSid -Path $path -MachineSid $machineSid
                    path = $path
                    # The built-in Administrator is RID 500 of the machine's own domain.
                    is_builtin_administrator = if ($machineSid) { $bareSid -eq "$machineSid-500" } else { $null }
                }
            })
    }
}

# ---------------------------------------------------------------------------
# disk

function Read-DiskFact {
    param([System.Collections.IDictionary]$Section)

    $drive = $env:SystemDrive
    $Section.system_drive = $drive

    # Win32_LogicalDisk FreeSpace / Size:
    # https://learn.microsoft.com/windows/win32/cimwin32prov/win32-logicaldisk
    Invoke-FactStep 'Win32_LogicalDisk query' {
        $disk = Get-CimInstance -ClassName Win32_LogicalDisk -Filter ("DeviceID = '{0}'" -f $drive) -Property @('FreeSpace', 'Size')
        $Section.free_bytes = ConvertTo-NullableInt $disk.FreeSpace
        $Section.size_bytes = ConvertTo-NullableInt $disk.Size
    }

    Invoke-FactStep 'listing pagefile.sys, hiberfil.sys and swapfile.sys' {
        $root = "$drive\"
        $Section.pagefile_present = Test-RootFile -Directory $root -Name 'pagefile.sys'
        $Section.hiberfil_present = Test-RootFile -Directory $root -Name 'hiberfil.sys'
        $Section.swapfile_present = Test-RootFile -Directory $root -Name 'swapfile.sys'
    }
}

# ---------------------------------------------------------------------------
# virtualization

function Get-HypervisorVendor {
    # SMBIOS system manufacturer/model strings each hypervisor presents; the same table as
    # ansible.windows setup's "virtual" facts, in the schema's vocabulary. HypervisorPresent
    # is not used: Hyper-V hosts and machines with virtualization-based security run a
    # hypervisor too.
    param([string]$Manufacturer, [string]$Model)

    $rules = @(
        @{ Vendor = 'hyperv'; Manufacturer = 'Microsoft Corporation'; Model = 'Virtual Machine' }
        @{ Vendor = 'vmware'; Manufacturer = 'VMware*'; Model = '*' }
        @{ Vendor = 'vmware'; Manufacturer = '*'; Model = 'VMware*' }
        @{ Vendor = 'virtualbox'; Manufacturer = 'innotek*'; Model = '*' }
        @{ Vendor = 'virtualbox'; Manufacturer = '*'; Model = 'VirtualBox*' }
        @{ Vendor = 'xen'; Manufacturer = 'Xen*'; Model = '*' }
        @{ Vendor = 'xen'; Manufacturer = '*'; Model = '*HVM domU*' }
        @{ Vendor = 'kvm'; Manufacturer = 'QEMU*'; Model = '*' }
        @{ Vendor = 'kvm'; Manufacturer = 'Red Hat*'; Model = '*' }
        @{ Vendor = 'kvm'; Manufacturer = 'oVirt*'; Model = '*' }
        @{ Vendor = 'kvm'; Manufacturer = 'Nutanix*'; Model = '*' }
        @{ Vendor = 'kvm'; Manufacturer = '*'; Model = '*KVM*' }
        @{ Vendor = 'kvm'; Manufacturer = '*'; Model = 'OpenStack*' }
        @{ Vendor = 'kvm'; Manufacturer = '*'; Model = 'Bochs*' }
        @{ Vendor = 'other'; Manufacturer = 'Parallels*'; Model = '*' }
        @{ Vendor = 'other'; Manufacturer = '*'; Model = '*Virtual Platform*' }
    )
    foreach ($rule in $rules) {
        if ($Manufacturer -like $rule.Manufacturer -and $Model -like $rule.Model) {
            return $rule.Vendor
        }
    }
    'none'
}

function Get-GuestToolService {
    # Guest integration services by service name. The Hyper-V integration services ship
    # with every Windows, so vmicheartbeat only counts while it runs.
    # https://learn.microsoft.com/virtualization/hyper-v-on-windows/reference/integration-services
    $services = @('vmtools', 'VBoxService', 'QEMU-GA', 'xenbus', 'xensvc', 'xenagent', 'prl_tools')
    $found = @(foreach ($name in $services) {
            if (Test-MachineKey "SYSTEM\CurrentControlSet\Services\$name") {
                $name
            }
        })
    $heartbeat = Get-Service -Name vmicheartbeat -ErrorAction SilentlyContinue
    if ($null -ne $heartbeat -and [string]$heartbeat.Status -eq 'Running') {
        $found += 'vmicheartbeat'
    }
    , $found
}

function Read-VirtualizationFact {
    param([System.Collections.IDictionary]$Section)

    $computer = Invoke-FactStep 'Win32_ComputerSystem query' {
        Get-CimInstance -ClassName Win32_ComputerSystem -Property @('Manufacturer', 'Model')
    }
    if ($null -ne $computer) {
        $Section.manufacturer = [string]$computer.Manufacturer
        $Section.model = [string]$computer.Model
        $Section.hypervisor_vendor = Get-HypervisorVendor -Manufacturer $Section.manufacturer -Model $Section.model
        $Section.is_virtual = $Section.hypervisor_vendor -ne 'none'
    }

    Invoke-FactStep 'looking for guest tools services' {
        $Section.guest_tools = Get-GuestToolService
    }
}

# ---------------------------------------------------------------------------
# connection

function Read-ConnectionFact {
    param([System.Collections.IDictionary]$Section)

    # https://learn.microsoft.com/dotnet/api/system.security.principal.windowsidentity.getcurrent
    $identity = [System.Security.Principal.WindowsIdentity]::GetCurrent()
    $Section.user = $identity.Name
    $Section.sid = $identity.User.Value
    $Section.authentication = $identity.AuthenticationType

    # IsInRole(Administrator) checks the token this session runs with:
    # https://learn.microsoft.com/dotnet/api/system.security.principal.windowsprincipal.isinrole
    Invoke-FactStep 'checking Administrators membership' {
        $principal = New-Object -TypeName System.Security.Principal.WindowsPrincipal -ArgumentList $identity
        $Section.is_local_administrator = $principal.IsInRole([System.Security.Principal.WindowsBuiltInRole]::Administrator)
    }

    # A domain account's SID belongs to another domain than this machine's own accounts.
    # Well-known accounts (SYSTEM ...) have no account domain and are not domain accounts.
    Invoke-FactStep 'comparing the account domain with the machine SID' {
        $accountDomain = $identity.User.AccountDomainSid
        if ($null -eq $accountDomain) {
            $Section.is_domain_account = $false
        }
        else {
            $Section.is_domain_account = $accountDomain.Value -ne (Get-MachineSid)
        }
    }
}

# ---------------------------------------------------------------------------
# Which sections to gather (gather_subset works like ansible's setup module).

function Resolve-GatherSubset {
    param([string[]]$Requested, [string[]]$Excluded, [string[]]$Known)

    $included = New-Object -TypeName 'System.Collections.Generic.HashSet[string]'
    $dropped = New-Object -TypeName 'System.Collections.Generic.HashSet[string]'
    $everything = $false
    $nothingElse = $false
    foreach ($entry in $Requested) {
        $negated = $entry.StartsWith('!')
        $name = $entry.TrimStart('!').Trim().ToLowerInvariant()
        if ($name -ne 'all' -and $Known -notcontains $name) {
            $module.FailJson(("gather_subset: unknown section '{0}'. Use all, a section name or !name to skip one; " +
                    "sections: {1}") -f $entry, ($Known -join ', '))
        }
        if ($name -eq 'all') {
            if ($negated) { $nothingElse = $true } else { $everything = $true }
        }
        elseif ($negated) {
            $null = $dropped.Add($name)
        }
        else {
            $null = $included.Add($name)
        }
    }
    if ($everything -or (-not $nothingElse -and $included.Count -eq 0)) {
        $null = $included.UnionWith([string[]]$Known)
    }
    foreach ($name in @($Excluded)) {
        # Ansible.Basic accepts choices case-insensitively; the section names are lower case.
        if ($name) {
            $null = $dropped.Add($name.Trim().ToLowerInvariant())
        }
    }
    $null = $included.ExceptWith($dropped)
    , $included
}

# ---------------------------------------------------------------------------
# Main

$sectionNames = [string[]]@($sectionProbes.Keys)
$selected = Resolve-GatherSubset -Requested @($module.Params.gather_subset) -Excluded @($module.Params.exclude) -Known $sectionNames

$facts = [ordered]@{
    schema_version = $schemaVersion
    gatherer = [ordered]@{
        kind = 'online'
        name = 'winimage.generalize.readiness_facts'
        source = [Environment]::MachineName
        gathered_at = [DateTime]::UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", [Globalization.CultureInfo]::InvariantCulture)
    }
    errors = $sectionErrors
    unavailable = $unavailable
}

# Only the offline gatherer sees the raw volume header.
$unavailable['bitlocker.encrypted_offline'] = 'offline gatherer only (reads the -FVE-FS- volume header); see bitlocker.protection_status'

foreach ($name in $sectionNames) {
    $section = New-EmptySection -Name $name
    $facts[$name] = $section
    if (-not $selected.Contains($name)) {
        $sectionErrors[$name] = $excludedReason
        continue
    }
    $script:probingSection = $name
    try {
        # Probes fill $section in place; anything they emit is not part of the result.
        $null = & $sectionProbes[$name] -Section $section
    }
    catch {
        Add-SectionError -Name $name -Message ('{0}: {1}' -f $sectionProbes[$name], $_.Exception.Message)
    }
}
$script:probingSection = $null

$module.Result.changed = $false
$module.Result.facts = $facts
$module.ExitJson()
