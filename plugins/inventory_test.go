package plugins

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	pluginv2 "github.com/immyoss/engine/plugins/proto/immy/plugin/v2"
)

func TestDecodeInventory(t *testing.T) {
	r := &pluginv2.GetInventoryResponse{Software: []*pluginv2.InstalledSoftware{
		{Name: "Zoom Workplace", Version: "6.0.2 (37600)", Publisher: "Zoom"},
		{Name: "7-Zip", Version: "23.01", ProductCode: "23170f69-40c1-2702-2301-000001000000"},
		{Name: "", Version: "1.0"},
		{Name: "Broken", ProductCode: "not-a-guid"},
		{Name: "Bad text", Publisher: string([]byte{0xff})},
	}}
	got, err := decodeInventory("rmm", r)
	want := []immy.DetectedSoftware{
		{Name: "7-Zip", Version: immy.ParseInventoryVersion("23.01"), ProductCode: "{23170F69-40C1-2702-2301-000001000000}"},
		{Name: "Zoom Workplace", Version: immy.ParseInventoryVersion("6.0.2 (37600)"), Publisher: "Zoom"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("good entries (-want +got):\n%s", diff)
	}
	var re *ResponseError
	require.True(t, errors.As(err, &re))
	require.Len(t, re.Problems, 3, "%v", err)
	require.ErrorContains(t, err, "is empty")
	require.ErrorContains(t, err, `"not-a-guid" is not a GUID`)
	require.ErrorContains(t, err, "not valid UTF-8")

	many := &pluginv2.GetInventoryResponse{Software: make([]*pluginv2.InstalledSoftware, MaxInventory+1)}
	got, err = decodeInventory("rmm", many)
	require.Nil(t, got, "an inventory over the bound is refused whole")
	require.ErrorContains(t, err, "at most 100000 allowed")
}

func FuzzDecodeInventory(f *testing.F) {
	f.Add("Zoom", "6.0", "Zoom", "{23170F69-40C1-2702-2301-000001000000}", "")
	f.Fuzz(func(t *testing.T, name, version, publisher, product, upgrade string) {
		r := &pluginv2.GetInventoryResponse{Software: []*pluginv2.InstalledSoftware{{Name: name, Version: version, Publisher: publisher, ProductCode: product, UpgradeCode: upgrade}}}
		got, err := decodeInventory("rmm", r)
		require.Equal(t, err == nil, len(got) == 1)
		for _, s := range got {
			require.NotEmpty(t, s.Name)
		}
	})
}
