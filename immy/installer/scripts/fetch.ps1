# immy installer fetch (PowerShell): download $installer_url into a cache
# keyed by its SHA-256 ($installer_sha256) under
# %ProgramData%\immy\installers (or $env:IMMY_INSTALLER_CACHE), check the
# hash before anything may run it, and print where it is, as
# installer.ParseFetch reads.
param([string]$installer_url, [string]$installer_sha256, [string]$installer_file)
$ErrorActionPreference = 'Stop'
'#immy:installer 1'
$want = $installer_sha256.ToLowerInvariant()
if ($want -notmatch '^[0-9a-f]{64}$') { '#immy:installer-error the sha256 is not 64 hexadecimal digits'; '#immy:end'; exit 0 }
$name = if ($installer_file) { $installer_file } else { 'installer' }
if ($name -match '[\\/:]' -or $name.StartsWith('.')) { '#immy:installer-error the file name may not hold a path'; '#immy:end'; exit 0 }
$cache = if ($env:IMMY_INSTALLER_CACHE) { $env:IMMY_INSTALLER_CACHE } else { Join-Path $env:ProgramData 'immy\installers' }
$dir = Join-Path $cache $want
$file = Join-Path $dir $name
try { New-Item -ItemType Directory -Force -Path $dir | Out-Null } catch { "#immy:installer-error cannot create the cache directory $dir"; '#immy:end'; exit 0 }
if ((Test-Path -LiteralPath $file) -and ((Get-FileHash -Algorithm SHA256 -LiteralPath $file).Hash.ToLowerInvariant() -eq $want)) {
	"cached $file"; '#immy:end'; exit 0
}
$part = "$file.part.$PID"
try {
	[Net.ServicePointManager]::SecurityProtocol = [Net.SecurityProtocolType]::Tls12
	Invoke-WebRequest -UseBasicParsing -Uri $installer_url -OutFile $part
} catch {
	Remove-Item -LiteralPath $part -ErrorAction SilentlyContinue
	"#immy:installer-error the download of $installer_url failed: $($_.Exception.Message)"; '#immy:end'; exit 0
}
$got = (Get-FileHash -Algorithm SHA256 -LiteralPath $part).Hash.ToLowerInvariant()
if ($got -ne $want) {
	Remove-Item -LiteralPath $part -ErrorAction SilentlyContinue
	"mismatch $got"; '#immy:end'; exit 0
}
Move-Item -Force -LiteralPath $part -Destination $file
"downloaded $file"
'#immy:end'
