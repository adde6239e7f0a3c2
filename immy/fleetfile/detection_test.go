package fleetfile_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/fleetfile"
)

const detectionFile = `version: 1
tenants:
  - {id: contoso, name: Contoso}
computers:
  - id: pc1
    tenant: contoso
    software:
      - {name: Git, version: 2.47.1, publisher: The Git Development Community}
      - {name: Git LFS version 3.6.0, version: 3.6.0, publisher: "GitHub, Inc."}
      - {name: Odd, version: Unknown}
software:
  - id: git
    name: Git
    detection: {display_name: Git, publisher: The Git Development Community}
    versions: [{version: 2.47.1}]
  - id: corretto-17
    name: Amazon Corretto 17
    detection:
      display_name: ["Amazon Corretto*", "Corretto*"]
      publisher: [Amazon*, "Amazon.com\\, Inc."]
      versions: ">=17 <18"
    versions: [{version: 17.0.13.11}]
  - id: python-313
    name: Python 3.13
    detection:
      display_name: "Python 3.13.* (64-bit)"
      version_map:
        - {match: '^(?P<maj>\d+)\.(?P<min>\d+)\.(?P<micro>\d+)\d{3}\.0$', to: "${maj}.${min}.${micro}"}
    versions: [{version: 3.13.4}]
`

// TestDetectionKeys loads the keys issue 17 adds (publisher, versions and
// version_map under detection, publisher in the inventory, lists of globs),
// and writes them back unchanged.
func TestDetectionKeys(t *testing.T) {
	f, err := fleetfile.Load("fleet.yaml", strings.NewReader(detectionFile))
	require.NoError(t, err)
	fl := f.Fleet
	got := []immy.Detection{fl.Software[0].Detection, fl.Software[1].Detection, fl.Software[2].Detection}
	want := []immy.Detection{
		{DisplayName: "Git", Publishers: []string{"The Git Development Community"}},
		{DisplayNames: []string{"Amazon Corretto*", "Corretto*"}, Publishers: []string{"Amazon*", `Amazon.com\, Inc.`}, Versions: ">=17 <18"},
		{DisplayName: "Python 3.13.* (64-bit)", VersionMap: []immy.VersionMapping{{Match: `^(?P<maj>\d+)\.(?P<min>\d+)\.(?P<micro>\d+)\d{3}\.0$`, To: "${maj}.${min}.${micro}"}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("detection (-want +got):\n%s", diff)
	}
	sw := fl.Computers[0].Software
	require.Equal(t, "The Git Development Community", sw[0].Publisher)
	require.Equal(t, "GitHub, Inc.", sw[1].Publisher)
	require.True(t, sw[2].Version.IsZero(), "an inventory version that is no version is unknown")
	require.Equal(t, "Odd", sw[2].Name, "and the entry stays")

	var b bytes.Buffer
	require.NoError(t, fleetfile.Write(&b, fl))
	back, err := fleetfile.Load("back.yaml", &b)
	require.NoError(t, err, b.String())
	if diff := cmp.Diff(fl.Software, back.Fleet.Software); diff != "" {
		t.Errorf("software after a round trip (-want +got):\n%s", diff)
	}
	require.Equal(t, fl.Computers[0].Software[1].Publisher, back.Fleet.Computers[0].Software[1].Publisher)
}

func TestDetectionKeyProblems(t *testing.T) {
	src := base + `software:
  - id: s
    name: S
    detection:
      display_name: {a: b}
      publisher: [ok, [no]]
      versions: ">= latest"
      version_map:
        - {match: "(", to: "1"}
        - {match: "x"}
    versions: [{version: 1.0}]
`
	got := problems(t, src)
	want := []string{
		`fleet.yaml:7: software "s": detection: missing detection (display_name, regex, product_code, upgrade_code or script)`,
		`fleet.yaml:8: software "s": detection.display_name: want a glob or a list of globs, got a mapping`,
		`fleet.yaml:9: software "s": detection.publisher[1]: want a glob (text), got a list`,
		`fleet.yaml:10: software "s": detection.versions: constraint ">= latest": term ">=latest": version "latest": no version: a version starts with a number`,
		"fleet.yaml:12: software \"s\": detection.version_map[0].match: invalid regular expression: missing closing ): `(`",
		`fleet.yaml:13: software "s": detection.version_map[1].to: missing to (the release version, with ${group} references)`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}
