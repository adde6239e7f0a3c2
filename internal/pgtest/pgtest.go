// Package pgtest gives tests a PostgreSQL database of their own, on the
// server named by the environment variable IMMY_TEST_POSTGRES_URL (a
// superuser URL, such as the one .ci/postgres prints):
//
//	url := pgtest.Database(t) // a fresh, empty database, dropped when t ends
//
// Without the variable the test is skipped, except when CI=true, where it
// fails: CI must not pass by skipping.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL is the environment variable that names the server.
const EnvURL = "IMMY_TEST_POSTGRES_URL"

// URL returns the server's URL from EnvURL, skipping t without it (failing
// it when CI=true).
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("pgtest: %s is not set, and CI=true: run .ci/postgres first", EnvURL)
		}
		t.Skipf("pgtest: %s is not set: no PostgreSQL server to test with (see README)", EnvURL)
	}
	return u
}

// Database creates a database with a fresh random name on the server of
// EnvURL and returns its URL; the database is dropped (with FORCE, closing
// what is still connected) when the test ends.
func Database(t testing.TB) string {
	t.Helper()
	admin := URL(t)
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvURL, err)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "immytest_" + hex.EncodeToString(b[:])

	exec := func(ctx context.Context, sql string) error {
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// MaybeDatabase is Database where the server is optional: without EnvURL
// (and CI not true) it returns "", so that a test that covers several
// databases runs the others.
func MaybeDatabase(t testing.TB) string {
	t.Helper()
	if !Enabled(t) {
		return ""
	}
	return Database(t)
}

// Enabled reports whether EnvURL names a server; without it, it fails t
// when CI=true.
func Enabled(t testing.TB) bool {
	t.Helper()
	if os.Getenv(EnvURL) != "" {
		return true
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("pgtest: %s is not set, and CI=true: run .ci/postgres first", EnvURL)
	}
	return false
}

// Name returns the database name of a URL Database returned.
func Name(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/")
}
