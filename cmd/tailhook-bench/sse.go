package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// subscriber reads a bin's event stream (GET /api/bins/{bin}/events) and
// checks that every seq after base arrives exactly once and in order. After
// a break it reconnects with Last-Event-ID, as the contract lets clients.
type subscriber struct {
	t       target
	bin     string
	token   string
	base    int64     // seq before the run: the first event must be base+1
	measure bool      // read ?t= from each event's query for live latency
	epoch0  time.Time // the clock ?t= counts from

	ready chan struct{} // closed once the first connection is subscribed

	mu         sync.Mutex
	last       int64 // highest seq seen
	seen       []uint8
	outOfOrder int // events whose seq was not last+1
	reconnects int
	retry      time.Duration // the server's suggested reconnect delay
	lat        []time.Duration
	err        error
	changed    chan struct{} // signalled after each event
}

func newSubscriber(t target, bin, token string, base int64, measure bool, epoch0 time.Time) *subscriber {
	return &subscriber{t: t, bin: bin, token: token, base: base, last: base, measure: measure, epoch0: epoch0,
		ready: make(chan struct{}), changed: make(chan struct{}, 1)}
}

// run reads the stream until ctx ends.
func (s *subscriber) run(ctx context.Context) {
	readyOnce := sync.OnceFunc(func() { close(s.ready) })
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			s.mu.Lock()
			s.reconnects++
			s.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-time.After(s.retryDelay()):
			}
		}
		err := s.stream(ctx, readyOnce)
		if err != nil && ctx.Err() == nil {
			s.mu.Lock()
			if s.err == nil {
				s.err = err
			}
			s.mu.Unlock()
		}
	}
}

func (s *subscriber) stream(ctx context.Context, ready func()) error {
	c, err := dial(ctx, s.t)
	if err != nil {
		return err
	}
	defer c.close()
	stop := context.AfterFunc(ctx, func() { c.nc.Close() })
	defer stop()
	s.mu.Lock()
	last := s.last
	s.mu.Unlock()
	req := "GET /api/bins/" + s.bin + "/events?token=" + s.token + " HTTP/1.1\r\nHost: " + s.t.host +
		"\r\nAccept: text/event-stream\r\nLast-Event-ID: " + strconv.FormatInt(last, 10) + "\r\n\r\n"
	if _, err := c.nc.Write([]byte(req)); err != nil {
		return err
	}
	res, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("event stream: status %d", res.StatusCode)
	}
	br := bufio.NewReaderSize(res.Body, 64<<10)
	var id int64
	var event string
	var data []byte
	for {
		// No deadline: heartbeats come every 20-30 s, and the run's end
		// closes the connection.
		c.nc.SetDeadline(time.Time{})
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long data line: gather it whole.
			buf := bytes.Clone(line)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				buf = append(buf, line...)
			}
			line = buf
		}
		if err != nil {
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			if event == "request" {
				s.got(id, data)
			}
			id, event, data = 0, "", data[:0]
		case line[0] == ':':
		case bytes.HasPrefix(line, []byte("retry:")):
			// The server writes this once it has subscribed us. Like
			// EventSource, wait as long as it says before reconnecting.
			if ms, err := strconv.Atoi(string(bytes.TrimSpace(line[6:]))); err == nil && ms >= 0 {
				s.mu.Lock()
				s.retry = time.Duration(ms) * time.Millisecond
				s.mu.Unlock()
			}
			ready()
		case bytes.HasPrefix(line, []byte("id:")):
			id, _ = strconv.ParseInt(string(bytes.TrimSpace(line[3:])), 10, 64)
		case bytes.HasPrefix(line, []byte("event:")):
			event = string(bytes.TrimSpace(line[6:]))
		case bytes.HasPrefix(line, []byte("data:")):
			if s.measure {
				data = append(data, bytes.TrimPrefix(line[5:], []byte(" "))...)
			}
		}
	}
}

// retryDelay is the server's retry: value, or 100 ms without one.
func (s *subscriber) retryDelay() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retry > 0 {
		return s.retry
	}
	return 100 * time.Millisecond
}

var queryMark = []byte(`"query":"t=`)

// got records one event.
func (s *subscriber) got(seq int64, data []byte) {
	now := time.Since(s.epoch0)
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq != s.last+1 {
		s.outOfOrder++
	}
	if i := seq - s.base - 1; i >= 0 {
		for int64(len(s.seen)) <= i {
			s.seen = append(s.seen, 0)
		}
		if s.seen[i] < 255 {
			s.seen[i]++
		}
	}
	s.last = max(s.last, seq)
	if s.measure {
		if i := bytes.Index(data, queryMark); i >= 0 {
			rest := data[i+len(queryMark):]
			j := 0
			for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
				j++
			}
			if sent, err := strconv.ParseInt(string(rest[:j]), 10, 64); err == nil {
				s.lat = append(s.lat, now-time.Duration(sent))
			}
		}
	}
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// waitFor waits until the subscriber has seen seq, or until d passes.
func (s *subscriber) waitFor(seq int64, d time.Duration) {
	deadline := time.After(d)
	for {
		s.mu.Lock()
		last := s.last
		s.mu.Unlock()
		if last >= seq {
			return
		}
		select {
		case <-s.changed:
		case <-deadline:
			return
		}
	}
}

// eventCheck is what the subscribers of a run saw, summed.
type eventCheck struct {
	Subscribers int     `json:"subscribers"`
	Expected    int64   `json:"expected_per_subscriber"`
	Lost        int64   `json:"lost"`   // gaps: seqs skipped while later ones arrived
	Behind      int64   `json:"behind"` // the newest seqs not delivered within the settle time
	Duplicated  int64   `json:"duplicated"`
	OutOfOrder  int64   `json:"out_of_order"`
	Reconnects  int64   `json:"reconnects"`
	CatchUpS    float64 `json:"catch_up_s"` // from the end of the load until the last subscriber had everything
	FirstError  string  `json:"first_error,omitempty"`
}

// check counts, over all subscribers, the seqs in base+1..final that were
// skipped, arrived more than once, or had not arrived by the end.
func check(subs []*subscriber, final int64) eventCheck {
	ec := eventCheck{Subscribers: len(subs)}
	for _, s := range subs {
		s.mu.Lock()
		ec.Expected = final - s.base
		upTo := min(s.last, final) - s.base
		ec.Behind += final - s.base - upTo
		for i := int64(0); i < upTo; i++ {
			var n uint8
			if i < int64(len(s.seen)) {
				n = s.seen[i]
			}
			if n == 0 {
				ec.Lost++
			} else if n > 1 {
				ec.Duplicated += int64(n - 1)
			}
		}
		ec.OutOfOrder += int64(s.outOfOrder)
		ec.Reconnects += int64(s.reconnects)
		if s.err != nil && ec.FirstError == "" {
			ec.FirstError = s.err.Error()
		}
		s.mu.Unlock()
	}
	return ec
}

// ok reports whether every subscriber got every event once, in order.
func (ec eventCheck) ok() bool {
	return ec.Lost == 0 && ec.Duplicated == 0 && ec.OutOfOrder == 0 && ec.Behind == 0
}
