package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tailhook-dev/tailhook/storage"
)

var errHelp = flag.ErrHelp

// serveConfig is everything 'tailhook serve' is told.
type serveConfig struct {
	Addr                   string
	DB                     string
	BaseURL                string
	MaxBody                int64
	MaxRequests            int64
	MaxStorage             int64 // 0: what leaves 10 % of the database's file system free
	Retention              time.Duration
	RateLimit              float64
	AllowPrivateForwarding bool
	TrustProxy             bool
	SessionKey             string
	LogFormat              string
	LogLevel               string
	Pprof                  bool
	ForwardConnectTimeout  time.Duration
	ForwardTimeout         time.Duration
	ReadHeaderTimeout      time.Duration
	CaptureHost            string
	BodyTimeout            time.Duration
	MaxInflight            int64
	BinLimit               int
}

// parseServe reads flags, each defaulting from its TAILHOOK_ variable: a
// flag beats its variable, a variable beats the built-in default.
func parseServe(args []string, getenv func(string) string, out io.Writer) (serveConfig, error) {
	var c serveConfig
	fs := flag.NewFlagSet("tailhook serve", flag.ContinueOnError)
	// Errors are reported by the caller in one line; the flag list is shown
	// only when asked for with -h.
	fs.SetOutput(io.Discard)
	defAddr := "127.0.0.1:8080"
	if p := getenv("PORT"); p != "" {
		defAddr = ":" + p
	}
	env := func(name, def string) string {
		if v, ok := lookup(getenv, "TAILHOOK_"+name); ok {
			return v
		}
		return def
	}
	// Values are taken as strings and validated below, so that a bad value,
	// whether from a flag or a variable, gets one line naming its source.
	var maxBody, maxReq, retention, rate, allowPriv, trust string
	fs.StringVar(&c.Addr, "addr", env("ADDR", defAddr), "listen `address` (env TAILHOOK_ADDR; default :$PORT when PORT is set)")
	fs.StringVar(&c.DB, "db", env("DB", "tailhook.db"), "SQLite database `file` (created with its folder if missing), or a postgres:// URL that several instances may share (env TAILHOOK_DB)")
	fs.StringVar(&c.BaseURL, "base-url", env("BASE_URL", ""), "public `origin` used in capture URLs, e.g. https://hooks.example.com (env TAILHOOK_BASE_URL; default: from the request)")
	fs.StringVar(&maxBody, "max-body", env("MAX_BODY", "10MiB"), "largest request body captured: bytes, KiB, MiB or GiB (env TAILHOOK_MAX_BODY)")
	fs.StringVar(&maxReq, "max-requests", env("MAX_REQUESTS", "10000"), "requests kept per bin; the oldest are pruned (env TAILHOOK_MAX_REQUESTS)")
	var maxStorage string
	fs.StringVar(&maxStorage, "max-storage", env("MAX_STORAGE", ""), "size the database may reach: bytes, KiB, MiB or GiB; over it captures get 507 (env TAILHOOK_MAX_STORAGE; default: what leaves 10% of its file system free)")
	fs.StringVar(&retention, "retention", env("RETENTION", "168h"), "bins idle for longer are deleted with their requests (env TAILHOOK_RETENTION)")
	fs.StringVar(&rate, "rate-limit", env("RATE_LIMIT", "100"), "captures per second per bin, burst 2x; 0 turns it off (env TAILHOOK_RATE_LIMIT)")
	fs.StringVar(&allowPriv, "allow-private-forwarding", env("ALLOW_PRIVATE_FORWARDING", "false"), "allow forwarding to loopback, private and link-local addresses; always on when listening on loopback only (env TAILHOOK_ALLOW_PRIVATE_FORWARDING)")
	fs.StringVar(&trust, "trust-proxy", env("TRUST_PROXY", "false"), "honour X-Forwarded-For and X-Forwarded-Proto (env TAILHOOK_TRUST_PROXY)")
	fs.StringVar(&c.SessionKey, "session-key", env("SESSION_KEY", ""), "`key` for the session cookie (env TAILHOOK_SESSION_KEY; default: generated once and kept in the database)")
	fs.StringVar(&c.LogFormat, "log-format", env("LOG_FORMAT", "text"), "log format: text or json (env TAILHOOK_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", env("LOG_LEVEL", "info"), "log level: debug, info, warn or error (env TAILHOOK_LOG_LEVEL)")
	var pprof, fwdConnect, fwdTotal, headerTimeout string
	fs.StringVar(&fwdConnect, "forward-connect-timeout", env("FORWARD_CONNECT_TIMEOUT", "5s"), "how long forwarding waits to connect to a target (env TAILHOOK_FORWARD_CONNECT_TIMEOUT)")
	fs.StringVar(&fwdTotal, "forward-timeout", env("FORWARD_TIMEOUT", "30s"), "how long one forwarding attempt may take in all (env TAILHOOK_FORWARD_TIMEOUT)")
	fs.StringVar(&headerTimeout, "read-header-timeout", env("READ_HEADER_TIMEOUT", "10s"), "how long a client may take to send a request's headers before it is cut off (env TAILHOOK_READ_HEADER_TIMEOUT)")
	fs.StringVar(&pprof, "pprof", env("PPROF", "false"), "serve /debug/pprof (env TAILHOOK_PPROF)")
	var bodyTimeout, maxInflight, binLimit string
	fs.StringVar(&c.CaptureHost, "capture-host", env("CAPTURE_HOST", ""), "`host` name that alone serves /b/… captures, e.g. hooks.example.com; pages and /api are not served on it (env TAILHOOK_CAPTURE_HOST; default: captures on any host)")
	fs.StringVar(&bodyTimeout, "body-timeout", env("BODY_TIMEOUT", "60s"), "longest time to receive one capture's body; slower senders get 408 (env TAILHOOK_BODY_TIMEOUT)")
	fs.StringVar(&maxInflight, "max-inflight", env("MAX_INFLIGHT", "256MiB"), "body bytes being received at once across all captures; over it 503 (env TAILHOOK_MAX_INFLIGHT)")
	fs.StringVar(&binLimit, "bin-limit", env("BIN_LIMIT", "60"), "bins one client address may create per minute; 0 turns it off (env TAILHOOK_BIN_LIMIT)")
	boolFlags(fs, "allow-private-forwarding", "trust-proxy", "pprof")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(out, "Usage: tailhook serve [flags]\n\nFlags:")
			fs.SetOutput(out)
			fs.PrintDefaults()
			return c, errHelp
		}
		return c, usageError{err.Error() + " (see 'tailhook help serve')"}
	}
	if fs.NArg() > 0 {
		return c, usagef("serve takes no arguments, got %q", fs.Arg(0))
	}
	bad := func(name string, value string, why string) error {
		return usagef("invalid value %q for --%s (or TAILHOOK_%s): %s", value, name,
			strings.ToUpper(strings.ReplaceAll(name, "-", "_")), why)
	}
	var err error
	if c.MaxBody, err = parseSize(maxBody); err != nil || c.MaxBody <= 0 {
		return c, bad("max-body", maxBody, "want a positive size such as 10MiB, 512KiB or 1048576")
	}
	if c.MaxRequests, err = strconv.ParseInt(maxReq, 10, 64); err != nil || c.MaxRequests < 1 {
		return c, bad("max-requests", maxReq, "want a whole number of at least 1")
	}
	if maxStorage != "" {
		if c.MaxStorage, err = parseSize(maxStorage); err != nil || c.MaxStorage <= 0 {
			return c, bad("max-storage", maxStorage, "want a positive size such as 10GiB, 512MiB or 1048576")
		}
	}
	if c.Retention, err = time.ParseDuration(retention); err != nil || c.Retention < time.Minute {
		return c, bad("retention", retention, "want a duration of at least 1m, such as 168h")
	}
	if c.RateLimit, err = strconv.ParseFloat(rate, 64); err != nil || c.RateLimit < 0 || c.RateLimit > 1e6 {
		return c, bad("rate-limit", rate, "want a number of captures per second, 0 to turn it off")
	}
	if c.AllowPrivateForwarding, err = strconv.ParseBool(allowPriv); err != nil {
		return c, bad("allow-private-forwarding", allowPriv, "want true or false")
	}
	if c.TrustProxy, err = strconv.ParseBool(trust); err != nil {
		return c, bad("trust-proxy", trust, "want true or false")
	}
	if c.Pprof, err = strconv.ParseBool(pprof); err != nil {
		return c, bad("pprof", pprof, "want true or false")
	}
	if c.ForwardConnectTimeout, err = time.ParseDuration(fwdConnect); err != nil || c.ForwardConnectTimeout <= 0 {
		return c, bad("forward-connect-timeout", fwdConnect, "want a positive duration such as 5s")
	}
	if c.ForwardTimeout, err = time.ParseDuration(fwdTotal); err != nil || c.ForwardTimeout <= 0 {
		return c, bad("forward-timeout", fwdTotal, "want a positive duration such as 30s")
	}
	if c.ReadHeaderTimeout, err = time.ParseDuration(headerTimeout); err != nil || c.ReadHeaderTimeout <= 0 {
		return c, bad("read-header-timeout", headerTimeout, "want a positive duration such as 10s")
	}
	if c.BodyTimeout, err = time.ParseDuration(bodyTimeout); err != nil || c.BodyTimeout <= 0 {
		return c, bad("body-timeout", bodyTimeout, "want a positive duration such as 60s")
	}
	if c.MaxInflight, err = parseSize(maxInflight); err != nil || c.MaxInflight <= 0 {
		return c, bad("max-inflight", maxInflight, "want a positive size such as 256MiB")
	}
	if c.BinLimit, err = strconv.Atoi(binLimit); err != nil || c.BinLimit < 0 {
		return c, bad("bin-limit", binLimit, "want a whole number of bins per minute, 0 to turn it off")
	}
	if c.CaptureHost != "" {
		if err := checkHost(c.CaptureHost); err != nil {
			return c, bad("capture-host", c.CaptureHost, err.Error())
		}
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return c, bad("addr", c.Addr, "want host:port, such as 127.0.0.1:8080 or :8080")
	}
	if c.DB == "" {
		return c, bad("db", c.DB, "want a file path or a postgres:// URL")
	}
	if storage.IsPostgres(c.DB) {
		// Never echo the URL: it may hold a password.
		if _, err := url.Parse(c.DB); err != nil {
			return c, bad("db", "postgres://…", "want a URL such as postgres://user:password@host:5432/tailhook")
		}
	}
	if c.BaseURL != "" {
		if err := checkBaseURL(c.BaseURL); err != nil {
			return c, bad("base-url", c.BaseURL, err.Error())
		}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return c, bad("log-format", c.LogFormat, "want text or json")
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return c, bad("log-level", c.LogLevel, "want debug, info, warn or error")
	}
	if c.SessionKey != "" && len(c.SessionKey) < 16 {
		return c, bad("session-key", "…", "want at least 16 characters")
	}
	return c, nil
}

func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

// boolFlags lets boolean flags be given bare (--trust-proxy) as well as with
// a value (--trust-proxy=false), although they are parsed as strings.
func boolFlags(fs *flag.FlagSet, names ...string) {
	for _, n := range names {
		f := fs.Lookup(n)
		f.Value = &boolString{f.Value}
	}
}

// boolString marks a string flag as boolean. PrintDefaults builds a zero
// boolString to learn the type's zero value, so every method must work with
// a nil Value.
type boolString struct{ v flag.Value }

func (b *boolString) IsBoolFlag() bool { return true }

func (b *boolString) Set(s string) error { return b.v.Set(s) }

func (b *boolString) String() string {
	if b == nil || b.v == nil {
		return "false" // what PrintDefaults takes as "no default worth showing"
	}
	return b.v.String()
}

// parseSize reads "10MiB", "512KiB", "1GiB" or plain bytes.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, err
	}
	if n > (1<<62)/mult {
		return 0, errors.New("too large")
	}
	return n * mult, nil
}

func checkBaseURL(s string) error {
	if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
		return errors.New("want an http:// or https:// origin, such as https://hooks.example.com")
	}
	rest := strings.TrimSuffix(strings.SplitN(s, "://", 2)[1], "/")
	if rest == "" || strings.ContainsAny(rest, "/?#") {
		return errors.New("want an origin without a path, such as https://hooks.example.com")
	}
	return nil
}

// checkHost accepts a bare host name, optionally with a port: the Host a
// sender uses for capture URLs.
func checkHost(s string) error {
	if strings.Contains(s, "://") {
		return errors.New("want a host name without a scheme, such as hooks.example.com")
	}
	if s == "" || strings.ContainsAny(s, "/?#@ \t") {
		return errors.New("want a host name, such as hooks.example.com")
	}
	return nil
}

// loopbackOnly reports whether addr listens on loopback addresses only:
// then forwarding to private addresses cannot expose anything new.
func loopbackOnly(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// allInterfaces reports whether addr listens on every interface (":8080",
// "0.0.0.0:8080", "[::]:8080"), so other machines can reach it.
func allInterfaces(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsUnspecified()
}

func formatBytes(n int64) string {
	switch {
	case n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
