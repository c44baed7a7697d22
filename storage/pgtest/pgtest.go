// Package pgtest gives tests a real, throwaway PostgreSQL, the way
// net/http/httptest gives them a real HTTP server.
//
// The first DSN or Admin call of a test binary runs initdb into a fresh
// temporary directory and starts a postgres on a free loopback port; every
// later call reuses that cluster. Each DSN gets an empty schema of its own and
// a URL whose search_path points at it, so parallel tests never see each
// other's tables, nor each other's NOTIFY channels (tailhook names its channel
// after current_schema()). Main stops the cluster and removes its directory.
//
// Test packages run as separate binaries at the same time, so nothing here is
// fixed: each binary has its own directory and its own port.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// minMajor is the oldest PostgreSQL tailhook supports.
const minMajor = 15

const (
	dbName    = "tailhook"
	appRole   = "tailhook" // what DSN connects as: owns the database, not a superuser
	superRole = "postgres" // what Admin connects as (initdb -U postgres)
)

// errMissing marks "PostgreSQL is not installed here": the one failure that
// skips instead of failing, and only outside CI.
var errMissing = errors.New("PostgreSQL binaries not found")

// binaries are the server programs the harness runs.
type binaries struct {
	initdb, postgres string
	version          string // "postgres (PostgreSQL) 15.14 ...", for logs
}

// lookupBinaries finds initdb and postgres. A variable so the harness's own
// tests can simulate a machine without PostgreSQL.
var lookupBinaries = func() (binaries, error) {
	return findBinaries(exec.LookPath, "/usr/lib/postgresql")
}

// findBinaries prefers initdb and postgres on PATH (if they are new enough),
// then the newest /usr/lib/postgresql/<major>/bin with major >= 15, which is
// where Debian's postgresql package puts them without putting them on PATH.
func findBinaries(lookPath func(string) (string, error), libRoot string) (binaries, error) {
	var tried []string
	if initdb, err := lookPath("initdb"); err == nil {
		if postgres, err := lookPath("postgres"); err == nil {
			b, err := checkBinaries(initdb, postgres)
			if err == nil {
				return b, nil
			}
			tried = append(tried, err.Error())
		} else {
			tried = append(tried, "initdb but no postgres on PATH")
		}
	} else {
		tried = append(tried, "no initdb on PATH")
	}

	dirs, _ := filepath.Glob(filepath.Join(libRoot, "*", "bin"))
	type candidate struct {
		major int
		dir   string
	}
	var cands []candidate
	for _, dir := range dirs {
		major, err := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
		if err != nil {
			continue
		}
		if major < minMajor {
			tried = append(tried, fmt.Sprintf("%s is PostgreSQL %d, need %d or newer", dir, major, minMajor))
			continue
		}
		cands = append(cands, candidate{major, dir})
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].major > cands[j].major })
	for _, c := range cands {
		b, err := checkBinaries(filepath.Join(c.dir, "initdb"), filepath.Join(c.dir, "postgres"))
		if err == nil {
			return b, nil
		}
		tried = append(tried, err.Error())
	}
	if len(cands) == 0 {
		tried = append(tried, "no "+filepath.Join(libRoot, "<major>", "bin", "initdb"))
	}
	return binaries{}, fmt.Errorf("%w: need initdb and postgres %d+ (apt-get install postgresql): %s",
		errMissing, minMajor, strings.Join(tried, "; "))
}

var versionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)`)

// checkBinaries asks postgres for its version: it proves the files run, and
// an old postgres on PATH must not shadow a new one in /usr/lib/postgresql.
func checkBinaries(initdb, postgres string) (binaries, error) {
	for _, p := range []string{initdb, postgres} {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return binaries{}, fmt.Errorf("%s is not an executable", p)
		}
	}
	out, err := exec.Command(postgres, "--version").Output()
	if err != nil {
		return binaries{}, fmt.Errorf("%s --version: %v", postgres, err)
	}
	version := strings.TrimSpace(string(out))
	m := versionRE.FindStringSubmatch(version)
	if m == nil {
		return binaries{}, fmt.Errorf("%s --version: unexpected %q", postgres, version)
	}
	if major, _ := strconv.Atoi(m[1]); major < minMajor {
		return binaries{}, fmt.Errorf("%s is PostgreSQL %d, need %d or newer", postgres, major, minMajor)
	}
	return binaries{initdb: initdb, postgres: postgres, version: version}, nil
}

// state is the test binary's one cluster, started on first use. A type (not
// bare globals) so the tests can run the skip/fail logic on a fresh one.
type state struct {
	mu      sync.Mutex
	find    func() (binaries, error) // nil: lookupBinaries
	c       *cluster
	err     error // a failed start is not retried: every test reports it
	started bool
	inMain  bool // Main is wrapping the tests, so the cluster will be stopped
}

var shared state

// get returns the running cluster, starting it on first use. Without
// PostgreSQL it skips t, or fails it under CI=true (CI must not go green by
// skipping the PostgreSQL tests); any other start failure fails t.
func (s *state) get(t testing.TB) *cluster {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		s.started = true
		find := s.find
		if find == nil {
			find = lookupBinaries
		}
		var bins binaries
		bins, s.err = find()
		if s.err == nil {
			if !s.inMain {
				// The cluster would outlive the tests and leave its directory behind.
				s.err = errors.New("pgtest: the package's TestMain must be: func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }")
			} else {
				s.c, s.err = startCluster(bins)
			}
		}
	}
	if s.err != nil {
		if errors.Is(s.err, errMissing) && os.Getenv("CI") != "true" {
			t.Skipf("pgtest: skipping, %v", s.err)
		}
		t.Fatalf("pgtest: %v", s.err)
	}
	return s.c
}

// Main wraps testing.M for a package's TestMain: it runs the tests, then
// stops the shared cluster (if one was started) and removes its directory.
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
func Main(m *testing.M) int {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()

	code := m.Run()

	shared.mu.Lock()
	c := shared.c
	shared.c = nil
	shared.mu.Unlock()
	if c != nil {
		if err := c.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// DSN returns a postgres:// URL for a fresh, empty schema of its own in the
// test binary's throwaway cluster. The URL's options parameter sets
// search_path to that schema, so unqualified names and current_schema() are
// the test's own. It connects as a role that owns the database but is not a
// superuser, like a production deployment would. The schema is dropped at
// t.Cleanup, after the cleanups the test registered later (its pools).
//
// Without PostgreSQL binaries the test is skipped with a log line naming
// what is missing, unless CI=true: then it fails.
func DSN(t testing.TB) string {
	t.Helper()
	c := shared.get(t)
	schema, err := c.createSchema()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := c.dropSchema(schema); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return c.url(appRole, schema)
}

// Admin returns a DSN with superuser rights on the same cluster and database
// as DSN's, for tests that must read pg_stat_activity or call
// pg_terminate_backend. Its search_path is the default one. Same skip rules.
func Admin(t testing.TB) string {
	t.Helper()
	return shared.get(t).url(superRole, "")
}

// cluster is one running postmaster and its directory.
type cluster struct {
	dir    string // temp dir: data/, the socket, server.log
	port   int
	proc   *os.Process
	exited chan struct{} // closed when the postmaster is gone
	admin  *sql.DB       // superuser pool for creating and dropping schemas
}

func (c *cluster) url(role, schema string) string {
	query := "sslmode=disable" // the cluster has no TLS; skip pgx's TLS attempt
	if schema != "" {
		// options is the libpq parameter for per-connection settings; pgx
		// sends it in the startup message, so it is the session's default
		// (RESET and DISCARD ALL return to it). pgx would also take a bare
		// search_path=... query parameter, but libpq tools (psql) reject that.
		// Both pgx (since v5.11's libpq-compatible URI parser) and libpq read
		// '+' literally, not as a space, so url.Values.Encode must not be
		// used: the space is %20 and the '=' %3D.
		query += "&options=" + strings.ReplaceAll(url.QueryEscape("-c search_path="+schema), "+", "%20")
	}
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(role),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + dbName,
		RawQuery: query,
	}
	return u.String()
}

// startCluster runs initdb and starts postgres on a free port, retrying a few
// ports: another test binary may take the free port we picked before postgres
// binds it.
func startCluster(bins binaries) (*cluster, error) {
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	removeStale()
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("pgtest: temp dir: %w", err)
	}
	c := &cluster{dir: dir}
	fail := func(err error) (*cluster, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fail(fmt.Errorf("pgtest: %w", err))
	}
	if cred != nil {
		// initdb and postgres run as the postgres user; they need to own the
		// directory they create data/ and the socket in.
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fail(fmt.Errorf("pgtest: chown %s to the postgres user: %w", dir, err))
		}
	}

	data := filepath.Join(dir, "data")
	initdb := exec.Command(bins.initdb, "-D", data, "-A", "trust", "-U", superRole,
		"--no-sync", "-E", "UTF8", "--locale=C")
	initdb.Dir = dir // the test's working directory may be closed to the postgres user
	initdb.Env = serverEnv()
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("pgtest: %s: %w\n%s", strings.Join(initdb.Args, " "), err, out))
	}

	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return fail(err)
		}
		c.port = port
		lastErr = c.start(bins, cred, data)
		if lastErr == nil {
			return c, nil
		}
		if !strings.Contains(lastErr.Error(), "could not bind") &&
			!strings.Contains(lastErr.Error(), "could not create any TCP/IP sockets") {
			break
		}
	}
	return fail(lastErr)
}

// start starts the postmaster on c.port and waits until it takes connections,
// then creates the app role and database.
func (c *cluster) start(bins binaries, cred *syscall.Credential, data string) error {
	logPath := filepath.Join(c.dir, "server.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: server log: %w", err)
	}
	defer logFile.Close() // the postmaster has its own copy of the descriptor

	cmd := exec.Command(bins.postgres,
		"-D", data,
		"-k", c.dir, // the unix socket too stays in our directory, not /var/run/postgresql
		"-p", strconv.Itoa(c.port),
		"-c", "listen_addresses=127.0.0.1",
		// Test speed only: nothing here must survive a machine crash.
		// synchronous_commit stays on: tailhook refuses to run without it.
		"-c", "fsync=off",
		"-c", "full_page_writes=off",
		// Many parallel tests, each with pools and several tailhook instances.
		"-c", "max_connections=300",
	)
	cmd.Dir = c.dir
	cmd.Env = serverEnv()
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: cred,
		// If the test binary dies without running Main (killed, or a panic),
		// the kernel sends the postmaster SIGQUIT: immediate shutdown, which
		// also ends its backends. Go sets this after switching user, which
		// would otherwise clear it.
		Pdeathsig: syscall.SIGQUIT,
	}

	// Pdeathsig fires when the *thread* that forked the child exits, not the
	// process, and Go may retire idle threads. So the fork happens on a
	// goroutine locked to its thread, and that goroutine stays on the thread
	// (waiting for the postmaster) for as long as the postmaster lives.
	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			runtime.UnlockOSThread()
			return
		}
		started <- nil
		cmd.Wait()
		close(exited)
		runtime.UnlockOSThread()
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("pgtest: start %s: %w", bins.postgres, err)
	}
	c.proc = cmd.Process
	c.exited = exited

	if err := c.waitReady(exited); err != nil {
		c.kill()
		log, _ := os.ReadFile(logPath)
		return fmt.Errorf("pgtest: %s on port %d: %w\nserver log:\n%s", bins.version, c.port, err, tail(log, 4096))
	}
	if err := c.setup(); err != nil {
		c.kill()
		return err
	}
	return nil
}

// waitReady connects until the postmaster accepts a login, or exits, or a
// minute passes.
func (c *cluster) waitReady(exited <-chan struct{}) error {
	db, err := sql.Open("pgx", c.urlTo(superRole, "postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = db.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("postgres exited during startup")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after a minute: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// urlTo is a DSN for any database, for the harness's own setup.
func (c *cluster) urlTo(role, db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(role),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// setup creates the database DSN and Admin share, owned by a role that is not
// a superuser, and opens the pool that creates and drops the schemas.
func (c *cluster) setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := sql.Open("pgx", c.urlTo(superRole, "postgres"))
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer db.Close()
	for _, q := range []string{
		"CREATE ROLE " + appRole + " LOGIN",
		"CREATE DATABASE " + dbName + " OWNER " + appRole,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("pgtest: %s: %w", q, err)
		}
	}
	c.admin, err = sql.Open("pgx", c.urlTo(superRole, dbName))
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	c.admin.SetMaxIdleConns(4)
	return nil
}

func (c *cluster) createSchema() (string, error) {
	b := make([]byte, 8)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Owned by the app role, so the test can create and drop its tables.
	if _, err := c.admin.ExecContext(ctx, "CREATE SCHEMA "+schema+" AUTHORIZATION "+appRole); err != nil {
		return "", fmt.Errorf("create schema %s: %w", schema, err)
	}
	return schema, nil
}

// dropSchema drops schema and everything in it. A session that still holds a
// lock on one of its tables (an open transaction the test forgot) would make
// DROP wait forever; lock_timeout turns that into an error naming the cause.
func (c *cluster) dropSchema(schema string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := c.admin.Conn(ctx)
	if err != nil {
		return fmt.Errorf("drop schema %s: %w", schema, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET lock_timeout = '20s'"); err != nil {
		return fmt.Errorf("drop schema %s: %w", schema, err)
	}
	_, err = conn.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE")
	conn.ExecContext(ctx, "RESET lock_timeout")
	if err != nil {
		return fmt.Errorf("drop schema %s (a connection of the test still holding a lock? close pools, rows and transactions before the test ends): %w", schema, err)
	}
	return nil
}

// stop shuts the postmaster down (SIGQUIT: immediate, nothing to keep) and
// removes the directory.
func (c *cluster) stop() error {
	if c.admin != nil {
		c.admin.Close()
	}
	c.kill()
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("remove cluster directory: %w", err)
	}
	return nil
}

// kill sends SIGQUIT and waits for the postmaster to exit, escalating to
// SIGKILL after ten seconds.
func (c *cluster) kill() {
	if c.proc == nil {
		return
	}
	c.proc.Signal(syscall.SIGQUIT)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		c.proc.Kill()
		<-c.exited
	}
	c.proc = nil
}

const (
	dirPrefix = "tailhook-pgtest-"
	ownerFile = "owner.pid" // pid of the test binary that made the directory
)

// removeStale removes the directories of earlier test binaries that were
// killed before Main could clean up (their postmasters died with them, see
// Pdeathsig). A directory without an owner file may be one being made right
// now by a parallel binary, so it is left alone.
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(dir)
		}
	}
}

// serverCredential is who initdb and postgres run as: the postgres OS user
// when we are root (initdb refuses to run as root), otherwise ourselves (nil).
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root, and initdb refuses root: need the postgres OS user (Debian's postgresql package creates it): %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgtest: postgres uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgtest: postgres gid %q: %w", u.Gid, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// serverEnv is our environment without PG* variables (PGDATA, PGPORT, ...)
// that would point initdb or postgres at somebody else's cluster.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return env
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
