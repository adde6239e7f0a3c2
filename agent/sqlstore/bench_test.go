package sqlstore_test

import (
	"fmt"
	"testing"

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/agent/sqlstore"
	"github.com/immyoss/engine/agent/storetest"
	"github.com/immyoss/engine/internal/pgtest"
)

// The reconnection path (an agent looked up by id) and the enrolment's
// token use, on each database.
func BenchmarkStore(b *testing.B) {
	type db struct {
		name string
		dsn  func(b *testing.B) string
	}
	dbs := []db{{"sqlite", func(b *testing.B) string { return b.TempDir() + "/immy.db" }}}
	if pgtest.Enabled(b) {
		dbs = append(dbs, db{"postgres", func(b *testing.B) string { return pgtest.Database(b) }})
	}
	for _, d := range dbs {
		b.Run(d.name, func(b *testing.B) {
			s, err := openBench(b, d.dsn(b))
			if err != nil {
				b.Fatal(err)
			}
			ctx := b.Context()
			const agents = 1000
			for i := range agents {
				if err := s.PutAgent(ctx, storetest.Record(fmt.Sprintf("agt-%05d", i), "acme", "tok")); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.PutToken(ctx, storetest.Token("tok", "acme", "secret")); err != nil {
				b.Fatal(err)
			}
			b.Run("Agent", func(b *testing.B) {
				i := 0
				for b.Loop() {
					if _, err := s.Agent(ctx, fmt.Sprintf("agt-%05d", i%agents)); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run("UseToken", func(b *testing.B) {
				for b.Loop() {
					if ok, err := s.(agent.TokenUser).UseToken(ctx, "tok"); err != nil || !ok {
						b.Fatal(ok, err)
					}
				}
			})
		})
	}
}

func openBench(b *testing.B, dsn string) (agent.Store, error) {
	s, err := sqlstore.Open(b.Context(), dsn, sqlstore.Config{})
	if err != nil {
		return nil, err
	}
	b.Cleanup(func() { s.Close() })
	return s, nil
}
