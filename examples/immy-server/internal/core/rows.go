package core

import (
	"database/sql"

	"github.com/jackc/pgx/v5"
)

// sqlRowsT and pgRows make database/sql's and pgx's rows one shape.
type sqlRowsT struct{ r *sql.Rows }

func (s sqlRowsT) Next() bool          { return s.r.Next() }
func (s sqlRowsT) Scan(v ...any) error { return s.r.Scan(v...) }
func (s sqlRowsT) Err() error          { return s.r.Err() }
func (s sqlRowsT) Close()              { _ = s.r.Close() }

type pgRows struct{ r pgx.Rows }

func (p pgRows) Next() bool          { return p.r.Next() }
func (p pgRows) Scan(v ...any) error { return p.r.Scan(v...) }
func (p pgRows) Err() error          { return p.r.Err() }
func (p pgRows) Close()              { p.r.Close() }
