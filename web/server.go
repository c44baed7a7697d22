// Package web is tailhook's HTTP surface: the capture endpoint, the JSON API,
// the live streams and the server-rendered pages.
package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tailhook-dev/tailhook/forward"
	"github.com/tailhook-dev/tailhook/storage"
)

// Config is what the server needs from the command line.
type Config struct {
	// BaseURL is the public origin used in capture URLs; "" derives it from
	// each request.
	BaseURL string
	// MaxBody is the largest request body captured, in bytes.
	MaxBody int64
	// RateLimit is captures per second per bin (burst twice that); 0 is off.
	RateLimit float64
	// TrustProxy honours X-Forwarded-For and X-Forwarded-Proto.
	TrustProxy bool
	// AllowPrivateForwarding lets forwards reach loopback and private addresses.
	AllowPrivateForwarding bool
	// SessionKey seeds the session cookie keys; "" uses keys generated once
	// and kept in the database.
	SessionKey string
	// ForwardConnectTimeout and ForwardTimeout bound each forwarding
	// attempt; zero takes the forward package's defaults (5 s, 30 s).
	ForwardConnectTimeout time.Duration
	ForwardTimeout        time.Duration
	// CaptureHost, when set, is the only host that serves /b/…, and it
	// serves nothing else: a bin's configured answer then never shares an
	// origin with the app. It may carry a port.
	CaptureHost string
	// BodyTimeout bounds how long one capture's body may take to arrive;
	// zero means 60 s.
	BodyTimeout time.Duration
	// MaxInflight bounds the body bytes being received at once across all
	// captures; zero means 256 MiB.
	MaxInflight int64
	// BinLimit is how many bins one client address may create per minute;
	// 0 is off.
	BinLimit int
	// Version is shown on pages and in logs.
	Version string
}

// Server holds the dependencies of every handler.
type Server struct {
	cfg      Config
	db       *storage.DB
	hub      *Hub
	log      *slog.Logger
	limits   *limiter
	binRate  *limiter // bin creation, by client address
	inflight budget   // body bytes being received (capture.go)
	session  *sessionStore

	forwarder *forward.Client
	keys      *keyCache // provider certificates and key sets
	// snsConfirm follows an SNS SubscribeURL (replaced in tests).
	snsConfirm func(ctx context.Context, url string) (int, []byte, error)
	deliverer  *deliverer
	metrics    *Metrics // GET /metrics (metrics.go)

	// Live streams (live.go); tests shorten them.
	liveWriteTimeout time.Duration
	heartbeat        time.Duration

	baseCtx context.Context // cancelled on Close: ends streams and long polls
	cancel  context.CancelFunc
	wg      sync.WaitGroup // background workers
	handler http.Handler
}

// New builds the Server and everything it runs on: the event hub, the
// metrics, the forwarder and its background worker, the routes. Nothing is
// wired anywhere else.
func New(ctx context.Context, cfg Config, db *storage.DB, log *slog.Logger) (*Server, error) {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 10 << 20
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = 60 * time.Second
	}
	if cfg.MaxInflight <= 0 {
		cfg.MaxInflight = 256 << 20
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	s := &Server{cfg: cfg, db: db, hub: NewHub(db.Backlog), log: log, limits: newLimiter(cfg.RateLimit),
		binRate: newLimiterPer(float64(cfg.BinLimit), time.Minute, cfg.BinLimit), inflight: budget{max: cfg.MaxInflight},
		liveWriteTimeout: liveWriteTimeout, heartbeat: liveHeartbeat}
	s.baseCtx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	var err error
	if s.session, err = newSessions(ctx, db, cfg.SessionKey); err != nil {
		return nil, err
	}
	s.metrics = newMetrics(db, s.hub)
	s.forwarder = forward.New(forward.Options{
		ConnectTimeout: cfg.ForwardConnectTimeout,
		Timeout:        cfg.ForwardTimeout,
		AllowPrivate:   cfg.AllowPrivateForwarding,
	})
	s.deliverer = newDeliverer(db, s.forwarder, log, s.metrics, s.forwardChanged)
	s.keys = newKeyCache()
	s.snsConfirm = newSNSConfirm()
	s.handler = s.routes()
	if db.Shared() {
		db.OnEvent(s.fromOtherInstance)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.watch(s.baseCtx)
	}()
	s.wg.Add(3)
	go func() {
		defer s.wg.Done()
		s.limits.sweep(s.baseCtx, time.Minute)
	}()
	go func() {
		defer s.wg.Done()
		s.binRate.sweep(s.baseCtx, 2*time.Minute)
	}()
	go func() {
		defer s.wg.Done()
		s.deliverer.run(s.baseCtx)
	}()
	return s, nil
}

// Handler is the root handler: captures go straight to the capture path,
// everything else through the router and its middleware.
func (s *Server) Handler() http.Handler { return s.handler }

// Close ends live streams (clients reconnect to the next server and resume
// from the database), answers long polls 503 and stops background workers.
// Call it when the HTTP server begins shutting down, before closing the
// database.
func (s *Server) Close() {
	s.cancel()
	s.hub.Close()
	s.wg.Wait()
}

// baseURL is the public origin for links shown to the user.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return s.cfg.BaseURL
	}
	scheme := "http"
	if s.isTLS(r) {
		scheme = "https"
	}
	return fmt.Sprintf("%s://%s", scheme, s.requestHost(r))
}

// requestHost is the host the client asked for: Host, or with a trusted
// proxy the host the proxy was asked for.
func (s *Server) requestHost(r *http.Request) string {
	if s.cfg.TrustProxy {
		if h := firstValue(r.Header.Get("X-Forwarded-Host")); h != "" {
			return h
		}
	}
	return r.Host
}

// captureBase is the origin of capture URLs: --capture-host when set, with
// the scheme of --base-url or of the request.
func (s *Server) captureBase(r *http.Request) string {
	if s.cfg.CaptureHost == "" {
		return s.baseURL(r)
	}
	scheme := "http"
	if strings.HasPrefix(s.cfg.BaseURL, "https://") || s.cfg.BaseURL == "" && s.isTLS(r) {
		scheme = "https"
	}
	return scheme + "://" + s.cfg.CaptureHost
}

// isTLS reports whether the client reached us over TLS, directly or, when
// the proxy is trusted, through it.
func (s *Server) isTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return s.cfg.TrustProxy && strings.EqualFold(firstValue(r.Header.Get("X-Forwarded-Proto")), "https")
}

// clientAddr is the sender's address: the TCP peer, or with a trusted proxy
// the address the proxy saw (the last X-Forwarded-For entry).
func (s *Server) clientAddr(r *http.Request) string {
	if s.cfg.TrustProxy {
		if vs := r.Header.Values("X-Forwarded-For"); len(vs) > 0 {
			parts := strings.Split(vs[len(vs)-1], ",")
			if a := strings.TrimSpace(parts[len(parts)-1]); a != "" {
				return a
			}
		}
	}
	return r.RemoteAddr
}

func firstValue(v string) string {
	v, _, _ = strings.Cut(v, ",")
	return strings.TrimSpace(v)
}
