package session

import (
	"errors"
	"fmt"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/installer"
	"github.com/immyoss/engine/immy/inventory"
	"github.com/immyoss/engine/resolver"
)

// A version with an Installer (every dynamic version has one; see package
// session/dynamic) is fetched on the computer before any script of its
// action runs: the fetch script of package immy/installer, run through the
// computer's runner, downloads it into a cache keyed by its SHA-256 (a file
// already cached is not downloaded again) and checks the hash. A hash that
// differs fails the action with reason installer-hash-mismatch and runs
// nothing, not even an update's uninstall; a download that fails, reason
// installer-download-failed. The install, upgrade and repair scripts then
// find the file at the parameter installer_path.

// Reasons of an action whose installer could not be fetched.
const (
	ReasonInstallerMismatch = "installer-hash-mismatch"
	ReasonInstallerFailed   = "installer-download-failed"
)

// fetchInstaller fetches the installer of the version an action brings,
// when it has one. err is a stop error only; a failure is a reason and a
// message for the action.
func (x *runCtx) fetchInstaller(i int, sw *immy.Software, a *Action) (path, reason, msg string, err error) {
	if a.Planned.Action == resolver.ActionUninstall || a.Planned.Version == "" {
		return "", "", "", nil
	}
	sv, ok := sw.Version(parseVersionOrZero(a.Planned.Version))
	if !ok || sv.Installer == nil {
		return "", "", "", nil
	}
	if err := installer.Check(*sv.Installer); err != nil {
		return "", ReasonInstallerFailed, err.Error(), nil
	}
	plat, ok := inventory.PlatformOf(x.comp.OS)
	if !ok {
		return "", ReasonInstallerFailed, fmt.Sprintf("no installer fetch script fits the computer's OS %q", x.comp.OS), nil
	}
	script, err := installer.Script(plat)
	if err != nil {
		return "", ReasonInstallerFailed, err.Error(), nil
	}
	params := installer.Params(*sv.Installer)
	res, err := x.runOnComputer(scriptRun{index: i, what: "download", script: &script, params: params, readOnly: true}, &script, params, x.e.cfg.ScriptTimeout)
	if err != nil {
		if isStop(err) {
			return "", "", "", err
		}
		return "", ReasonInstallerFailed, x.e.secrets.str(err.Error()), nil
	}
	if res.ExitCode != 0 {
		return "", ReasonInstallerFailed, fmt.Sprintf("the download script exited with code %d: %s", res.ExitCode, oneLine(res.Value)), nil
	}
	got, err := installer.ParseFetch(res.Output)
	var m *installer.MismatchError
	switch {
	case errors.As(err, &m):
		m.URL, m.Want = sv.Installer.URL, params["installer_sha256"].(string)
		return "", ReasonInstallerMismatch, m.Error(), nil
	case err != nil:
		return "", ReasonInstallerFailed, err.Error(), nil
	}
	if got.Cached {
		x.e.log(x.s, i, "installer "+got.Path+" found in the cache, its SHA-256 checked")
	} else {
		x.e.log(x.s, i, "installer downloaded to "+got.Path+", its SHA-256 checked")
	}
	return got.Path, "", "", nil
}

// withInstaller adds the installer's path to a step's parameters.
func withInstaller(params map[string]any, path string) map[string]any {
	if path != "" {
		params["installer_path"] = path
	}
	return params
}
