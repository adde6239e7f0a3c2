package plugins_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/plugins"
	"github.com/immyoss/engine/plugins/sdk"
	"github.com/immyoss/engine/plugins/sdk/sdktest"
	"github.com/immyoss/engine/session/dynamic"
)

// vendorPlugin is an integration that knows the versions of one software.
type vendorPlugin struct{}

func (vendorPlugin) Info() sdk.Info { return sdk.Info{Name: "vendor", Version: "1.0.0"} }
func (vendorPlugin) Configure(context.Context, sdk.Config, *sdk.Host) error {
	return nil
}
func (vendorPlugin) Health(context.Context) error { return nil }
func (vendorPlugin) DynamicVersions(_ context.Context, software string) ([]sdk.DynamicVersion, error) {
	if software != "Acme App" {
		return nil, sdk.ErrNotFound
	}
	return []sdk.DynamicVersion{
		{Version: "4.1.0", URL: "https://vendor.example/acme-4.1.0.msi", SHA256: "1111111111111111111111111111111111111111111111111111111111111111"},
		{Version: "4.2.0", URL: "https://vendor.example/acme-4.2.0.msi", FileName: "acme.msi", SHA256: "2222222222222222222222222222222222222222222222222222222222222222"},
	}, nil
}

func TestDynamicListerThroughPlugin(t *testing.T) {
	h := sdktest.Start(t, vendorPlugin{}, sdktest.Options{ID: "vendor"})
	c := &dynamic.Cache{Integrations: map[string]dynamic.Lister{"vendor": plugins.DynamicLister{Instance: h.Instance}}}
	f := &immy.Fleet{Software: []immy.Software{{ID: "acme", Name: "Acme", Dynamic: &immy.DynamicSource{Integration: "vendor", Name: "Acme App"}}}}
	got, err := c.Apply(t.Context(), f)
	require.NoError(t, err)
	require.Equal(t, "4.2.0", got.Software[0].Latest().String())
	v, ok := got.Software[0].Version(immy.MustParseVersion("4.2.0"))
	require.True(t, ok)
	require.Equal(t, &immy.Installer{URL: "https://vendor.example/acme-4.2.0.msi", FileName: "acme.msi", SHA256: "2222222222222222222222222222222222222222222222222222222222222222"}, v.Installer)

	f.Software[0].Dynamic.Name = "Other"
	_, err = c.Apply(t.Context(), f)
	require.ErrorIs(t, err, immy.ErrNotFound)
}
