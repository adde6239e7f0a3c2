//go:build !linux && !windows

package sysinfo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/immyoss/engine/immy"
)

// other reports what the standard library knows on systems the agent does not
// inventory yet (macOS, the BSDs): the hostname and the OS's name.
type other struct{}

func (s *Source) native() system { return other{} }

func (other) identity(context.Context) (immy.Identity, error) {
	h, err := os.Hostname()
	if err != nil {
		return immy.Identity{}, fmt.Errorf("sysinfo: hostname: %w", err)
	}
	return immy.Identity{Hostname: h, OS: runtime.GOOS}, nil
}

func (other) software(context.Context) ([]immy.DetectedSoftware, error) {
	return nil, fmt.Errorf("sysinfo: software inventory on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

func (other) logins(context.Context) ([]Login, error) {
	return nil, fmt.Errorf("sysinfo: logged-on users on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
