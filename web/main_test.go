package web

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/tailhook-dev/tailhook/storage/pgtest"
)

// engineEnv set to "postgres" runs the web suite on PostgreSQL
// (newTestApp opens a schema of its own instead of an SQLite file).
const engineEnv = "TAILHOOK_TEST_ENGINE"

// TestMain runs the web suite on SQLite, then again in a child process on
// PostgreSQL, so that the whole contract is checked on both engines (the
// cluster tests, PostgreSQL's own, run once). It stops the throwaway
// PostgreSQL the tests start. Without PostgreSQL the second run skips its
// tests with a log line, and fails under CI=true, through pgtest.
func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	if os.Getenv(engineEnv) != "" || code != 0 {
		os.Exit(code)
	}
	cmd := exec.Command(os.Args[0], append(os.Args[1:], "-test.skip=^TestCluster")...)
	cmd.Env = append(os.Environ(), engineEnv+"=postgres")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	fmt.Println("=== web suite again, on PostgreSQL")
	if err := cmd.Run(); err != nil {
		fmt.Println("web suite on PostgreSQL:", err)
		os.Exit(1)
	}
	os.Exit(0)
}
