// Package installer downloads a software version's installer on the
// computer that runs it, through any script runner: a built-in script per
// platform (sh with curl or wget and sha256sum; PowerShell with
// Invoke-WebRequest and Get-FileHash) fetches the file into a cache keyed by
// its SHA-256 and checks the hash before anything may run it. A file already
// cached with the right hash is not downloaded again; a file whose hash
// differs is deleted and reported, never kept.
//
//	res, err := installer.Fetch(ctx, runner, computer, inventory.Linux, immy.Installer{URL: u, SHA256: sum})
//	var mismatch *installer.MismatchError
//	if errors.As(err, &mismatch) { /* run nothing */ }
//	// res.Path: where the installer is on the computer
package installer
