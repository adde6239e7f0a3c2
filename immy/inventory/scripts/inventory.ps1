# immy inventory (Windows): the Uninstall keys of HKLM, its WOW6432Node and
# every loaded user hive under HKU, and the Windows Installer's upgrade codes,
# printed in the sections that inventory.Parse reads. Windows PowerShell 5.1
# or PowerShell 7; reading HKU's other users needs SYSTEM or an administrator.
$ErrorActionPreference = 'Continue'
try { [Console]::OutputEncoding = [System.Text.UTF8Encoding]::new($false) } catch { }
$uninstall = 'SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall'

function Write-Entries([string]$hive, [string]$path) {
	$keys = Get-ChildItem -LiteralPath $path -ErrorAction SilentlyContinue
	foreach ($k in ($keys | Sort-Object PSChildName)) {
		$p = Get-ItemProperty -LiteralPath $k.PSPath -ErrorAction SilentlyContinue
		if ($null -eq $p) { continue }
		$o = [ordered]@{ hive = $hive; key = [string]$k.PSChildName }
		foreach ($n in 'DisplayName', 'DisplayVersion', 'Publisher', 'ParentKeyName', 'ReleaseType') {
			$v = $p.$n
			if ($null -ne $v -and [string]$v -ne '') { $o[$n] = [string]$v }
		}
		foreach ($n in 'SystemComponent', 'WindowsInstaller') {
			$v = $p.$n -as [int64]
			if ($null -ne $v -and $v -gt 0 -and $v -le 4294967295) { $o[$n] = $v }
		}
		ConvertTo-Json -InputObject $o -Compress
	}
}

'#immy:inventory 1'
'#immy:section windows-uninstall'
Write-Entries 'HKLM' "Registry::HKEY_LOCAL_MACHINE\$uninstall"
Write-Entries 'HKLM\WOW6432Node' 'Registry::HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall'
$sids = Get-ChildItem -LiteralPath 'Registry::HKEY_USERS' -ErrorAction SilentlyContinue | Sort-Object PSChildName
foreach ($s in $sids) {
	$sid = [string]$s.PSChildName
	# only real users' hives (local, domain, Entra ID), not their _Classes
	if (($sid.StartsWith('S-1-5-21-') -or $sid.StartsWith('S-1-12-1-')) -and -not $sid.EndsWith('_Classes')) {
		Write-Entries "HKU\$sid" "Registry::HKEY_USERS\$sid\$uninstall"
	}
}
'#immy:section windows-upgrade-codes'
$codes = Get-ChildItem -LiteralPath 'Registry::HKEY_LOCAL_MACHINE\SOFTWARE\Classes\Installer\UpgradeCodes' -ErrorAction SilentlyContinue
foreach ($u in ($codes | Sort-Object PSChildName)) {
	foreach ($product in ($u.GetValueNames() | Sort-Object)) {
		if ($product -ne '') { "$($u.PSChildName)`t$product" }
	}
}
'#immy:end'
