package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tailhook-dev/tailhook/storage"
)

// prefilled is a bin filled before the server starts.
type prefilled struct {
	ID, Token string
	N         int64
	Took      time.Duration
}

// prefill creates a bin in the database file at path and stores n requests
// in it through storage, the way the capture path does but without HTTP, so
// that a million requests take a minute, not an hour of rate-limited posts.
func prefill(ctx context.Context, path string, n int64, body []byte) (prefilled, error) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := storage.Open(ctx, path, storage.Options{Log: log})
	if err != nil {
		return prefilled{}, err
	}
	defer db.Close()
	bin, token, err := db.CreateBin(ctx, "prefilled", "")
	if err != nil {
		return prefilled{}, err
	}
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	// Enough submitters to fill every group commit.
	for range 512 {
		wg.Go(func() {
			for next.Add(1) <= n && ctx.Err() == nil {
				_, err := db.Capture(ctx, storage.Capture{Request: &storage.Request{
					BinID:  bin.ID,
					Method: "POST",
					Path:   "/prefill",
					Header: http.Header{
						"Host":           {"127.0.0.1"},
						"Content-Type":   {"application/json"},
						"Content-Length": {fmt.Sprint(len(body))},
						"User-Agent":     {"tailhook-bench"},
					},
					Body:       body,
					Size:       int64(len(body)),
					RemoteAddr: "127.0.0.1:40000",
					Proto:      "HTTP/1.1",
				}})
				if err != nil {
					select {
					case errc <- err:
					default:
					}
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errc:
		return prefilled{}, fmt.Errorf("prefill: %w", err)
	default:
	}
	if err := ctx.Err(); err != nil {
		return prefilled{}, err
	}
	return prefilled{ID: bin.ID, Token: token, N: n, Took: time.Since(start)}, db.Close()
}
