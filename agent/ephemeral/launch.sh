# immy ephemeral agent launch (sh): start the fetched immy-agent in
# ephemeral mode, detached from the RMM's script (setsid), with the one-time
# token; when it exits (released, or idle) remove the binary and its
# directory. Parameters: agent_path, agent_server, agent_token, agent_pin,
# agent_idle, agent_session.
set -u
if [ ! -f "$agent_path" ]; then
	echo "no agent binary at $agent_path"
	exit 2
fi
chmod 0700 "$agent_path" || exit 2
IMMY_AGENT_TOKEN="$agent_token" IMMY_AGENT_PIN="$agent_pin" \
	setsid sh -c '"$0" -server "$1" -ephemeral -idle "$2" >/dev/null 2>&1; rm -f "$0"; rmdir "$(dirname "$0")" 2>/dev/null; exit 0' \
	"$agent_path" "$agent_server" "$agent_idle" </dev/null >/dev/null 2>&1 &
echo "#immy:agent-started session $agent_session"
