package demo

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFleetLoads(t *testing.T) {
	f, err := Fleet("/tmp/it's here")
	require.NoError(t, err)
	require.Len(t, f.Tenants, 1)
	require.True(t, f.Tenants[0].ExcludeFromCrossTenant)
	require.Contains(t, f.Software[0].Install.Body, `'/tmp/it'\''s here'/hello.version`)
	_, err = Fleet("relative")
	require.ErrorContains(t, err, "not absolute")
}
