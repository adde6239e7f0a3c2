# immy pending reboot (Windows): the Component Based Servicing RebootPending
# key, Windows Update's RebootRequired key and the Session Manager's
# PendingFileRenameOperations, and the last boot time, printed as
# inventory.ParseRebootState reads.
$ErrorActionPreference = 'Continue'
'#immy:reboot 1'
if (Test-Path -LiteralPath 'Registry::HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending') {
	'pending cbs-reboot-pending'
}
if (Test-Path -LiteralPath 'Registry::HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired') {
	'pending windows-update-reboot-required'
}
$sm = Get-ItemProperty -LiteralPath 'Registry::HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Session Manager' -Name PendingFileRenameOperations -ErrorAction SilentlyContinue
if ($null -ne $sm -and $sm.PendingFileRenameOperations) {
	'pending pending-file-rename-operations'
}
try {
	$os = Get-CimInstance -ClassName Win32_OperatingSystem -ErrorAction Stop
	'boot ' + $os.LastBootUpTime.ToUniversalTime().ToString('o')
} catch { }
'#immy:end'
