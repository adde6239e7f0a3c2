// Package sqlitedsn spells the one way the module opens a SQLite file
// (modernc.org/sqlite): the journal, the fleet store and the agent store
// each open it so, and may share one file.
package sqlitedsn

import (
	"fmt"
	"net/url"
	"strings"
)

// DSN is the data source name of the SQLite file at path: WAL mode, the
// synchronous level given (a store's Config.Synchronous: "" is FULL; FULL or
// NORMAL), foreign keys on, a busy timeout of 10 s for other connections and
// processes, and transactions that take the write lock when they begin (no
// deadlock between two readers that both go on to write).
func DSN(path, synchronous string) (string, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return "", fmt.Errorf("sqlite path %q: empty, or holds '?' or '#'", path)
	}
	sync := strings.ToUpper(synchronous)
	switch sync {
	case "":
		sync = "FULL"
	case "FULL", "NORMAL":
	default:
		return "", fmt.Errorf("Config.Synchronous %q: want FULL or NORMAL", synchronous)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+sync+")")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	return path + "?" + q.Encode(), nil
}
