package web

import (
	"os"
	"testing"

	"github.com/tailhook-dev/tailhook/storage/pgtest"
)

// TestMain stops the throwaway PostgreSQL the cluster tests start
// (cluster_test.go); the other tests never start it.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
