# immy installer fetch (sh): download $installer_url into a cache keyed by
# its SHA-256 ($installer_sha256), check the hash before anything may run
# it, and print where it is, as installer.ParseFetch reads. A file already
# in the cache with the right hash is not downloaded again. The cache is
# IMMY_INSTALLER_CACHE, else /var/cache/immy/installers when writable, else
# $TMPDIR/immy-installers.
echo '#immy:installer 1'
want=$(printf '%s' "$installer_sha256" | tr 'A-F' 'a-f')
name="${installer_file:-installer}"
case "$want" in
*[!0-9a-f]* | "") echo "#immy:installer-error the sha256 is not hexadecimal"; echo '#immy:end'; exit 0 ;;
esac
case "$name" in
*/* | .* | "") echo "#immy:installer-error the file name may not hold a slash or start with a dot"; echo '#immy:end'; exit 0 ;;
esac
cache="${IMMY_INSTALLER_CACHE:-}"
if [ -z "$cache" ]; then
	if mkdir -p /var/cache/immy/installers 2>/dev/null && [ -w /var/cache/immy/installers ]; then
		cache=/var/cache/immy/installers
	else
		cache="${TMPDIR:-/tmp}/immy-installers"
	fi
fi
dir="$cache/$want"
file="$dir/$name"
if ! mkdir -p "$dir" 2>/dev/null; then
	echo "#immy:installer-error cannot create the cache directory $dir"; echo '#immy:end'; exit 0
fi
sum() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }
if [ -f "$file" ] && [ "$(sum "$file")" = "$want" ]; then
	echo "cached $file"; echo '#immy:end'; exit 0
fi
part="$file.part.$$"
rm -f "$part"
if command -v curl >/dev/null 2>&1; then
	err=$(curl -fsSL --proto '=https,http' --max-time 3600 -o "$part" "$installer_url" 2>&1)
elif command -v wget >/dev/null 2>&1; then
	err=$(wget -q -T 60 -O "$part" "$installer_url" 2>&1)
else
	echo "#immy:installer-error neither curl nor wget is installed"; echo '#immy:end'; exit 0
fi
rc=$?
if [ "$rc" -ne 0 ] || [ ! -f "$part" ]; then
	rm -f "$part"
	echo "#immy:installer-error the download of $installer_url failed (exit $rc): $(printf '%s' "$err" | head -n 1 | cut -c 1-200)"
	echo '#immy:end'; exit 0
fi
got=$(sum "$part")
if [ "$got" != "$want" ]; then
	rm -f "$part"
	echo "mismatch $got"; echo '#immy:end'; exit 0
fi
mv -f "$part" "$file"
echo "downloaded $file"
echo '#immy:end'
