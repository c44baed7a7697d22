package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func queryString(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	var s sql.NullString
	if err := db.QueryRowContext(ctx(t), q).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s.String
}

// Two DSNs are two schemas: a table made through one is invisible through
// the other, which can make its own table of the same name.
func TestDSNsAreIsolatedSchemas(t *testing.T) {
	t.Parallel()
	a, b := open(t, DSN(t)), open(t, DSN(t))
	sa, sb := queryString(t, a, "SELECT current_schema()"), queryString(t, b, "SELECT current_schema()")
	if !strings.HasPrefix(sa, "t_") || !strings.HasPrefix(sb, "t_") || sa == sb {
		t.Fatalf("current_schema() = %q and %q, want two different t_ schemas", sa, sb)
	}
	if _, err := a.ExecContext(ctx(t), "CREATE TABLE bins (id text PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ExecContext(ctx(t), "INSERT INTO bins VALUES ('only-in-a')"); err != nil {
		t.Fatal(err)
	}
	if got := queryString(t, b, "SELECT to_regclass('bins')::text"); got != "" {
		t.Fatalf("table bins of %s is visible through %s's DSN as %q", sa, sb, got)
	}
	if _, err := b.ExecContext(ctx(t), "CREATE TABLE bins (id text PRIMARY KEY)"); err != nil {
		t.Fatalf("second DSN cannot create its own bins: %v", err)
	}
	if got := queryString(t, b, "SELECT count(*)::text FROM bins"); got != "0" {
		t.Fatalf("bins through the second DSN has %s rows, want 0", got)
	}
}

// The schema is gone once its test ends.
func TestSchemaDroppedAtCleanup(t *testing.T) {
	t.Parallel()
	var schema string
	t.Run("uses", func(t *testing.T) {
		db := open(t, DSN(t))
		schema = queryString(t, db, "SELECT current_schema()")
		if _, err := db.ExecContext(ctx(t), "CREATE TABLE captures (n int)"); err != nil {
			t.Fatal(err)
		}
	})
	admin := open(t, Admin(t))
	if got := queryString(t, admin, fmt.Sprintf("SELECT count(*)::text FROM pg_namespace WHERE nspname = '%s'", schema)); got != "0" {
		t.Fatalf("schema %q still exists after its test ended", schema)
	}
}

// LISTEN/NOTIFY works through a DSN, on a channel named after
// current_schema() as tailhook's storage names it.
func TestListenNotify(t *testing.T) {
	t.Parallel()
	db := open(t, DSN(t))
	channel := queryString(t, db, "SELECT current_schema()")
	conn, err := db.Conn(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx(t), "LISTEN "+channel); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx(t), "SELECT pg_notify($1, 'captured')", channel); err != nil {
		t.Fatal(err)
	}
	err = conn.Raw(func(dc any) error {
		wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n, err := dc.(*stdlib.Conn).Conn().WaitForNotification(wctx)
		if err != nil {
			return err
		}
		if n.Channel != channel || n.Payload != "captured" {
			return fmt.Errorf("got notification %q on %q, want %q on %q", n.Payload, n.Channel, "captured", channel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Admin is a superuser on the same database and can end a session opened
// through DSN; DSN's role is not a superuser.
func TestAdminTerminatesDSNConnection(t *testing.T) {
	t.Parallel()
	db, admin := open(t, DSN(t)), open(t, Admin(t))
	if got := queryString(t, db, "SHOW is_superuser"); got != "off" {
		t.Errorf("DSN's role: is_superuser = %s, want off", got)
	}
	if got := queryString(t, admin, "SHOW is_superuser"); got != "on" {
		t.Errorf("Admin's role: is_superuser = %s, want on", got)
	}
	if a, b := queryString(t, db, "SELECT current_database()"), queryString(t, admin, "SELECT current_database()"); a != b {
		t.Errorf("DSN is on database %q, Admin on %q", a, b)
	}

	conn, err := db.Conn(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var pid int
	if err := conn.QueryRowContext(ctx(t), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	var ok bool
	if err := admin.QueryRowContext(ctx(t), "SELECT pg_terminate_backend($1, 10000)", pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, ok, err)
	}
	if err := conn.QueryRowContext(ctx(t), "SELECT 1").Scan(new(int)); err == nil {
		t.Fatal("the terminated connection still answers")
	}
}

// tailhook refuses to start without synchronous_commit; the harness turns
// fsync off for speed but must leave synchronous_commit on.
func TestSynchronousCommitOn(t *testing.T) {
	t.Parallel()
	db := open(t, DSN(t))
	if got := queryString(t, db, "SHOW synchronous_commit"); got != "on" {
		t.Fatalf("synchronous_commit = %s, want on", got)
	}
	if got := queryString(t, db, "SHOW server_version_num"); got < "150000" {
		t.Fatalf("server_version_num = %s, want PostgreSQL 15 or newer", got)
	}
}

// fakeTB records how DSN gave up. Skip and Fatal end the goroutine like the
// real ones do.
type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// Without PostgreSQL a developer's run skips with a line naming what is
// missing; under CI=true it fails instead. A second call gives the same answer
// without looking again.
func TestMissingBinaries(t *testing.T) {
	for _, tc := range []struct {
		ci       string
		wantSkip bool
	}{
		{"", true},
		{"false", true},
		{"true", false},
	} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			lookups := 0
			s := &state{inMain: true, find: func() (binaries, error) {
				lookups++
				return findBinaries(func(string) (string, error) { return "", errors.New("not found") }, t.TempDir())
			}}
			for range 2 {
				f := &fakeTB{TB: t}
				done := make(chan struct{})
				go func() {
					defer close(done)
					s.get(f)
				}()
				<-done
				if f.skipped != tc.wantSkip || f.failed == tc.wantSkip {
					t.Fatalf("skipped=%v failed=%v, want skipped=%v", f.skipped, f.failed, tc.wantSkip)
				}
				for _, want := range []string{"initdb", "apt-get install postgresql"} {
					if !strings.Contains(f.msg, want) {
						t.Errorf("message %q does not name %q", f.msg, want)
					}
				}
			}
			if lookups != 1 {
				t.Errorf("looked for binaries %d times, want once", lookups)
			}
		})
	}
}

// findBinaries takes PATH's if new enough, else the newest
// /usr/lib/postgresql/<major>/bin with major >= 15.
func TestFindBinaries(t *testing.T) {
	root := t.TempDir()
	fake := func(dir, version string) string {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"initdb", "postgres"} {
			script := fmt.Sprintf("#!/bin/sh\necho 'postgres (PostgreSQL) %s (Debian)'\n", version)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	lib := filepath.Join(root, "lib")
	fake(filepath.Join(lib, "14", "bin"), "14.9")
	fake(filepath.Join(lib, "15", "bin"), "15.14")
	fake(filepath.Join(lib, "16", "bin"), "16.4")
	fake(filepath.Join(lib, "17", "bin"), "17.1")
	os.Remove(filepath.Join(lib, "17", "bin", "postgres")) // a half-removed install
	old := fake(filepath.Join(root, "old"), "13.2")
	newer := fake(filepath.Join(root, "newer"), "18.0")
	onPath := func(dir string) func(string) (string, error) {
		return func(name string) (string, error) {
			if dir == "" {
				return "", errors.New("not on PATH")
			}
			return filepath.Join(dir, name), nil
		}
	}
	for _, tc := range []struct {
		name, path, lib, want, wantErr string
	}{
		{"PATH first", newer, lib, filepath.Join(newer, "postgres"), ""},
		{"old PATH falls back to newest lib", old, lib, filepath.Join(lib, "16", "bin", "postgres"), ""},
		{"nothing on PATH", "", lib, filepath.Join(lib, "16", "bin", "postgres"), ""},
		{"only too old", old, filepath.Join(root, "none"), "", "PostgreSQL 13, need 15"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := findBinaries(onPath(tc.path), tc.lib)
			if tc.wantErr != "" {
				if !errors.Is(err, errMissing) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want errMissing mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || b.postgres != tc.want {
				t.Fatalf("postgres = %q, %v, want %q", b.postgres, err, tc.want)
			}
		})
	}
}

// Sanity for the real lookup: on a machine with PostgreSQL it finds one new
// enough (or skips/fails as DSN would).
func TestLookupBinariesHere(t *testing.T) {
	b, err := lookupBinaries()
	if errors.Is(err, errMissing) && os.Getenv("CI") != "true" {
		t.Skipf("pgtest: skipping, %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("using %s (%s)", b.postgres, b.version)
}
