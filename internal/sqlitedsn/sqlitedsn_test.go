package sqlitedsn

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDSN(t *testing.T) {
	got, err := DSN("/tmp/immy.db", "")
	require.NoError(t, err)
	require.Equal(t, "/tmp/immy.db?_pragma=busy_timeout%2810000%29&_pragma=journal_mode%28WAL%29&_pragma=synchronous%28FULL%29&_pragma=foreign_keys%281%29&_txlock=immediate", got)
	got, err = DSN("immy.db", "normal")
	require.NoError(t, err)
	require.Contains(t, got, "synchronous%28NORMAL%29")
	for _, bad := range [][2]string{{"", ""}, {"a?b", ""}, {"a#b", ""}, {"immy.db", "OFF"}} {
		_, err := DSN(bad[0], bad[1])
		require.Error(t, err, bad)
	}
}
