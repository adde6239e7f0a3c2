package sysinfo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/immyoss/engine/immy"
)

// linuxFS reads a Linux machine from its file system under root.
type linuxFS struct {
	root string
	run  func(ctx context.Context, name string, args ...string) ([]byte, error)
}

func (l *linuxFS) path(p string) string { return filepath.Join(l.root, filepath.FromSlash(p)) }

// read returns the trimmed content of a file, "" when it is missing or
// unreadable (product_serial is readable by root only).
func (l *linuxFS) read(p string) string {
	b, err := os.ReadFile(l.path(p))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func (l *linuxFS) exists(p string) bool {
	_, err := os.Stat(l.path(p))
	return err == nil
}

func (l *linuxFS) identity(context.Context) (immy.Identity, error) {
	dmi := func(name string) string { return l.read("sys/class/dmi/id/" + name) }
	id := immy.Identity{
		UUID:         normalizeUUID(dmi("product_uuid")),
		Serial:       cleanDMI(dmi("product_serial")),
		Manufacturer: cleanDMI(dmi("sys_vendor")),
		Model:        cleanDMI(dmi("product_name")),
		Hostname:     l.hostname(),
		OSInstallID:  l.read("etc/machine-id"),
	}
	if id.OSInstallID == "" {
		id.OSInstallID = l.read("var/lib/dbus/machine-id")
	}
	rel, err := l.osRelease()
	if err != nil {
		return immy.Identity{}, err
	}
	id.OS, id.OSVersion = rel.Name(), rel["VERSION_ID"]
	if rel["ID"] == "debian" { // the point release lives elsewhere
		if dv := l.read("etc/debian_version"); strings.HasPrefix(dv, id.OSVersion+".") {
			id.OSVersion = dv
		}
	}
	chassis, _ := strconv.Atoi(dmi("chassis_type"))
	id.Kind = l.kind(chassis)
	id.Domain = l.domain(id.Hostname)
	return id, nil
}

func (l *linuxFS) hostname() string {
	for _, p := range []string{"proc/sys/kernel/hostname", "etc/hostname"} {
		if h := l.read(p); h != "" {
			return h
		}
	}
	if filepath.Clean(l.root) == "/" {
		h, _ := os.Hostname()
		return h
	}
	return ""
}

func (l *linuxFS) osRelease() (OSRelease, error) {
	for _, p := range []string{"etc/os-release", "usr/lib/os-release"} {
		f, err := os.Open(l.path(p))
		if err != nil {
			continue
		}
		rel, err := ParseOSRelease(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%w (in %s)", err, l.path(p))
		}
		return rel, nil
	}
	return OSRelease{}, nil
}

// kind decides the computer's kind: a Samba Active Directory domain
// controller; else what the chassis says; else a workstation when a desktop
// session type is installed, a server otherwise (virtual machines report
// chassis "other").
func (l *linuxFS) kind(chassis int) immy.ComputerKind {
	if l.sambaDC() {
		return immy.KindDomainController
	}
	if k := ChassisKind(chassis); k != immy.KindUnknown {
		return k
	}
	for _, dir := range []string{"usr/share/xsessions", "usr/share/wayland-sessions"} {
		if m, _ := filepath.Glob(filepath.Join(l.path(dir), "*.desktop")); len(m) > 0 {
			return immy.KindWorkstation
		}
	}
	return immy.KindServer
}

func (l *linuxFS) sambaDC() bool {
	b, err := os.ReadFile(l.path("etc/samba/smb.conf"))
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok || strings.Join(strings.Fields(strings.ToLower(k)), " ") != "server role" {
			continue
		}
		v = strings.Join(strings.Fields(strings.ToLower(v)), " ")
		if v == "active directory domain controller" || v == "dc" {
			return true
		}
	}
	return false
}

// domain is the first domain sssd serves (a machine joined with realmd), else
// the hostname's DNS suffix.
func (l *linuxFS) domain(hostname string) string {
	if b, err := os.ReadFile(l.path("etc/sssd/sssd.conf")); err == nil {
		section := ""
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
				section = strings.TrimSpace(line[1 : len(line)-1])
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			if ok && section == "sssd" && strings.TrimSpace(k) == "domains" {
				if first, _, _ := strings.Cut(v, ","); strings.TrimSpace(first) != "" {
					return strings.TrimSpace(first)
				}
			}
		}
	}
	if _, suffix, ok := strings.Cut(hostname, "."); ok {
		return suffix
	}
	return ""
}

func (l *linuxFS) software(ctx context.Context) ([]immy.DetectedSoftware, error) {
	var out []immy.DetectedSoftware
	var errs []error
	if f, err := os.Open(l.path("var/lib/dpkg/status")); err == nil {
		sw, err := ParseDpkgStatus(f)
		f.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("%w (in %s)", err, l.path("var/lib/dpkg/status")))
		}
		out = append(out, sw...)
	} else if !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, fmt.Errorf("sysinfo: %w", err))
	}
	if l.exists("var/lib/rpm") || l.exists("usr/lib/sysimage/rpm") {
		args := []string{"-qa", "--queryformat", RPMQueryFormat}
		if filepath.Clean(l.root) != "/" {
			args = append([]string{"--root", l.root}, args...)
		}
		b, err := l.run(ctx, "rpm", args...)
		switch {
		case errors.Is(err, exec.ErrNotFound):
			// an rpm database without rpm: nothing to ask
		case err != nil:
			errs = append(errs, fmt.Errorf("sysinfo: rpm: %w", err))
		default:
			sw, err := ParseRPMQuery(bytes.NewReader(b))
			if err != nil {
				errs = append(errs, err)
			}
			out = append(out, sw...)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return sortSoftware(out), nil
}

func (l *linuxFS) logins(context.Context) ([]Login, error) {
	var fromLogind, fromUtmp []Login
	var errs []error
	dir := l.path("run/systemd/sessions")
	if ents, err := os.ReadDir(dir); err == nil {
		for _, e := range ents {
			if !e.Type().IsRegular() || strings.Contains(e.Name(), ".") {
				continue // FIFOs and "*.ref" files sit beside the session files
			}
			f, err := os.Open(filepath.Join(dir, e.Name()))
			if err != nil {
				continue // the session closed meanwhile
			}
			lg, ok, err := ParseLogindSession(f)
			f.Close()
			if err != nil {
				errs = append(errs, fmt.Errorf("%w (in %s)", err, filepath.Join(dir, e.Name())))
				continue
			}
			if ok {
				fromLogind = append(fromLogind, lg)
			}
		}
	}
	for _, p := range []string{"run/utmp", "var/run/utmp"} {
		b, err := os.ReadFile(l.path(p))
		if err != nil {
			continue
		}
		ls, err := ParseUtmp(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w (in %s)", err, l.path(p)))
		}
		fromUtmp = ls
		break
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := mergeLogins(fromLogind, fromUtmp)
	for i := range out {
		out[i].UPN = out[i].User
	}
	return out, nil
}
