# immy inventory (Linux): the installed packages of dpkg and rpm, printed in
# the sections that inventory.Parse reads. POSIX sh; needs no root.
echo '#immy:inventory 1'
if command -v dpkg-query >/dev/null 2>&1; then
	echo '#immy:section dpkg'
	# the fields of dpkg's status database that the parser reads, one stanza a package
	dpkg-query -W -f='Package: ${Package}\nStatus: ${Status}\nVersion: ${Version}\nOrigin: ${Origin}\nMaintainer: ${Maintainer}\n\n' 2>/dev/null
	rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "#immy:error dpkg-query exited with status $rc"
	fi
fi
if command -v rpm >/dev/null 2>&1 && { [ -d /var/lib/rpm ] || [ -d /usr/lib/sysimage/rpm ]; }; then
	echo '#immy:section rpm'
	rpm -qa --queryformat '%{NAME}\t%{VERSION}\t%{VENDOR}\n' 2>/dev/null
	rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "#immy:error rpm -qa exited with status $rc"
	fi
fi
echo '#immy:end'
