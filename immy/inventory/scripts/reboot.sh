# immy pending reboot (Linux): whether the system asks for a reboot
# (/var/run/reboot-required, written by Debian's and Ubuntu's package
# scripts), and this boot's id, printed as inventory.ParseRebootState reads.
# IMMY_HOST_ROOT, when set, is where the host's root is mounted (an agent in
# a container).
echo '#immy:reboot 1'
root="${IMMY_HOST_ROOT:-}"
if [ -e "$root/var/run/reboot-required" ] || [ -e "$root/run/reboot-required" ]; then
	echo 'pending reboot-required-file'
fi
if [ -r /proc/sys/kernel/random/boot_id ]; then
	echo "boot $(cat /proc/sys/kernel/random/boot_id)"
fi
echo '#immy:end'
