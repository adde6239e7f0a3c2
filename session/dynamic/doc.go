// Package dynamic gives software their dynamic versions: versions found at
// run time (a vendor's releases) rather than listed in the catalogue, each
// with its installer's URL and SHA-256, from the software's
// immy.DynamicSource: a metascript, or an integration's dynamic-versions
// capability (plugins.Instance.DynamicVersions).
//
// A Cache asks each source at most once per TTL and Apply puts the versions
// into a fleet, beside the catalogue's own, before the planner is made:
//
//	cache := &dynamic.Cache{TTL: time.Hour, Integrations: map[string]dynamic.Lister{"ninja-eu": lister}}
//	fleet, err := cache.Apply(ctx, fleet) // err: every source that failed; their software keep their listed versions
//	planner := ... // over fleet
//
// "latest" then means the newest version, dynamic ones included, and the
// session fetches a dynamic version's installer on the computer, checks its
// SHA-256 before anything runs, and keeps it in a cache keyed by the hash
// (see package immy/installer and the session's installer.go).
//
// # Metascripts
//
// A source's Script is Lua, run on the server in the sandbox of the
// engine's metascripts (no os, io, load or require; bounded in time,
// instructions and memory). It sees the table software (id, name) and,
// when Cache.HTTPClient is set, http_get(url) -> body (http and https only,
// 1 MiB at most, an error for a status other than 2xx); it returns a list
// of versions:
//
//	local latest = http_get("https://vendor.example/app/latest.txt") -- "4.2.0 <sha256>"
//	local v, sum = latest:match("^(%S+)%s+(%x+)")
//	return {{version = v, url = "https://vendor.example/app/app-" .. v .. ".msi", sha256 = sum}}
//
// Every entry needs a version, an http(s) url and a 64-digit sha256;
// file_name is optional. A source with a bad entry gives no versions, the
// error naming each bad entry.
package dynamic
