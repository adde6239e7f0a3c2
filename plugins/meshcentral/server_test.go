package meshcentral_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/plugins/meshcentral"
)

// The environment .ci/meshcentral prints: a real MeshCentral server on
// loopback with a real MeshAgent connected to it.
const (
	envURL      = "IMMY_TEST_MESHCENTRAL_URL"
	envUser     = "IMMY_TEST_MESHCENTRAL_USER"
	envPassword = "IMMY_TEST_MESHCENTRAL_PASSWORD"
	envKey      = "IMMY_TEST_MESHCENTRAL_LOGIN_KEY"
	envCA       = "IMMY_TEST_MESHCENTRAL_CA"
	envGroup    = "IMMY_TEST_MESHCENTRAL_GROUP"
	envNode     = "IMMY_TEST_MESHCENTRAL_NODE"
	envOffline  = "IMMY_TEST_MESHCENTRAL_OFFLINE_NODE"
	envTech     = "IMMY_TEST_MESHCENTRAL_TECH_USER"
	envTechPass = "IMMY_TEST_MESHCENTRAL_TECH_PASSWORD"
)

// server is the test server's coordinates.
type server struct {
	url, user, password, key, ca string
	group, node, offline         string
	tech, techPassword           string // an account with rights on the group only
}

// testServer returns the server .ci/meshcentral started, skipping t without
// one (failing it when CI=true: CI must not pass by skipping).
func testServer(t testing.TB) server {
	t.Helper()
	s := server{
		url: os.Getenv(envURL), user: os.Getenv(envUser), password: os.Getenv(envPassword),
		key: os.Getenv(envKey), ca: os.Getenv(envCA), group: os.Getenv(envGroup),
		node: os.Getenv(envNode), offline: os.Getenv(envOffline),
		tech: os.Getenv(envTech), techPassword: os.Getenv(envTechPass),
	}
	if s.url == "" || s.node == "" || s.tech == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("meshcentral: %s and %s are not set, and CI=true: run .ci/meshcentral first", envURL, envNode)
		}
		t.Skipf("meshcentral: %s is not set: no MeshCentral server to test with (eval \"$(bash .ci/meshcentral)\")", envURL)
	}
	return s
}

// techConfig logs in as the technician, by password.
func (s server) techConfig() (map[string]string, []string) {
	return map[string]string{
		meshcentral.KeyURL: s.url, meshcentral.KeyUser: s.tech, meshcentral.KeyCAFile: s.ca,
		meshcentral.KeyPassword: s.techPassword,
	}, []string{meshcentral.KeyPassword}
}

// config is an instance's configuration: login by the login-token key, or by
// password when byPassword.
func (s server) config(byPassword bool) (map[string]string, []string) {
	cfg := map[string]string{
		meshcentral.KeyURL: s.url, meshcentral.KeyUser: s.user, meshcentral.KeyCAFile: s.ca,
	}
	if byPassword {
		cfg[meshcentral.KeyPassword] = s.password
		return cfg, []string{meshcentral.KeyPassword}
	}
	cfg[meshcentral.KeyLoginKey] = s.key
	return cfg, []string{meshcentral.KeyLoginKey}
}

func shell(body string) immy.Script { return immy.Script{Language: immy.LanguageShell, Body: body} }

func echo(text string) immy.Script {
	return shell("echo '" + strings.ReplaceAll(text, "'", `'\''`) + "'")
}
func exit(code int) immy.Script { return shell(fmt.Sprintf("echo about to fail; exit %d", code)) }
func sleep(d time.Duration) immy.Script {
	return shell(fmt.Sprintf("echo sleeping; sleep %d; echo woke", int(d.Seconds())))
}
