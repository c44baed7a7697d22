package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/tailhook-dev/tailhook/rawhead"
	"github.com/tailhook-dev/tailhook/storage"
	"github.com/tailhook-dev/tailhook/web"
)

// shutdownTimeout stays below fly.toml's kill_timeout.
const shutdownTimeout = 10 * time.Second

func serve(ctx context.Context, c serveConfig, stdout, stderr io.Writer) error {
	log, err := newLogger(c, stderr)
	if err != nil {
		return err
	}
	db, err := storage.Open(ctx, c.DB, storage.Options{
		MaxRequests: c.MaxRequests,
		MaxStorage:  c.MaxStorage,
		KeepFree:    keepFree(c.MaxStorage),
		Retention:   c.Retention,
		Log:         log,
	})
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	// Listen before serving so that a bad or busy address fails right here.
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		db.Close()
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	srv, err := web.New(ctx, web.Config{
		BaseURL:                c.BaseURL,
		MaxBody:                c.MaxBody,
		RateLimit:              c.RateLimit,
		TrustProxy:             c.TrustProxy,
		AllowPrivateForwarding: c.AllowPrivateForwarding || loopbackOnly(c.Addr),
		SessionKey:             c.SessionKey,
		ForwardConnectTimeout:  c.ForwardConnectTimeout,
		ForwardTimeout:         c.ForwardTimeout,
		CaptureHost:            c.CaptureHost,
		BodyTimeout:            c.BodyTimeout,
		MaxInflight:            c.MaxInflight,
		BinLimit:               c.BinLimit,
		Version:                version,
	}, db, log)
	if err != nil {
		ln.Close()
		db.Close()
		return err
	}
	handler := srv.Handler()
	if c.Pprof {
		handler = withPprof(handler)
	}
	hs := &http.Server{
		Handler: handler,
		// Header lines as received, in order and spelling (ln is wrapped
		// by rawhead.Listen below).
		ConnContext: rawhead.ConnContext,
		// A sender that trickles its headers is cut off; the contract says
		// 10 s, the default of --read-header-timeout.
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		MaxHeaderBytes:    1 << 20,
		IdleTimeout:       2 * time.Minute,
		// No WriteTimeout: it is an absolute deadline that would kill event
		// streams. Streams set their own per-write deadlines.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		// Not ctx itself: a signal must not cancel requests mid-way. Shutdown
		// lets in-flight captures finish, and long polls and delayed answers
		// see the server's own shutdown (srv.Close) and answer 503.
		BaseContext: func(net.Listener) context.Context {
			return context.WithoutCancel(ctx)
		},
	}
	hs.RegisterOnShutdown(srv.Close)

	log.Info("tailhook listening", "url", displayURL(ln.Addr().String(), c.BaseURL), "addr", ln.Addr().String(),
		"db", db.Path(), "version", version, "max_body", formatBytes(c.MaxBody), "max_storage", storageBudget(db))
	if allInterfaces(c.Addr) {
		log.Warn("listening on every network interface: tailhook is reachable from other machines; "+
			"use --addr 127.0.0.1:PORT to keep it local", "addr", c.Addr)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(rawhead.Listen(ln)) }()

	select {
	case err := <-errc:
		srv.Close()
		db.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight captures")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	serr := hs.Shutdown(sctx)
	srv.Close()
	derr := db.Close()
	if serr != nil && !errors.Is(serr, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", serr)
	}
	if derr != nil {
		return fmt.Errorf("close database: %w", derr)
	}
	log.Info("stopped")
	return nil
}

// displayURL is the address to open in a browser.
func displayURL(addr, base string) string {
	if base != "" {
		return base
	}
	host, port, _ := net.SplitHostPort(addr)
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return "http://" + host + ":" + port
}

func newLogger(c serveConfig, w io.Writer) (*slog.Logger, error) {
	level, err := parseLevel(c.LogLevel)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(s))
	return l, err
}

// withPprof adds /debug/pprof/ in front of the app; only with --pprof.
func withPprof(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/debug/pprof/") {
			mux.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// keepFree is the share of the database's file system left free when
// --max-storage is not given (the contract's default).
func keepFree(maxStorage int64) float64 {
	if maxStorage > 0 {
		return 0
	}
	return 0.10
}

// storageBudget describes the database's budget for the start-up log line.
func storageBudget(db *storage.DB) string {
	_, budget := db.Space()
	switch {
	case budget <= 0:
		return "none"
	case budget%(1<<20) == 0:
		return formatBytes(budget) // as given
	case budget >= 1<<30:
		return fmt.Sprintf("%.1fGiB", float64(budget)/(1<<30))
	}
	return fmt.Sprintf("%.1fMiB", float64(budget)/(1<<20))
}
