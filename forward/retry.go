package forward

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// schedule is the auto-forward retry schedule: the delay before the second,
// third, … attempt. After the last entry NextDelay gives up.
var schedule = []time.Duration{
	time.Second,
	5 * time.Second,
	30 * time.Second,
	2 * time.Minute,
	10 * time.Minute,
	time.Hour,
}

const (
	// jitter is the relative spread around each scheduled delay (±20%), so
	// deliveries that failed together do not all come back together.
	jitter = 0.2
	// minRetryAfter and maxRetryAfter bound a server's Retry-After: 0 or a
	// date in the past would make a tight loop; a huge value would park the
	// delivery beyond the whole schedule.
	minRetryAfter = time.Second
	maxRetryAfter = time.Hour
)

// now is the clock for Retry-After dates; tests replace it.
var now = time.Now

// Retryable reports whether an attempt that ended in res is worth repeating:
// network errors and timeouts (but not a refused address, an invalid URL or
// an invalid request, which would fail the same way again), and the statuses
// 408, 429 and 5xx. When a status came back it alone decides, even if
// reading the body failed: the target has acted on the request.
func Retryable(res Result) bool {
	if res.Status != 0 {
		s := res.Status
		return s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500 && s <= 599
	}
	if res.Err == nil {
		return false
	}
	return !errors.Is(res.Err, ErrRefused) && !errors.Is(res.Err, ErrInvalidURL) && !errors.Is(res.Err, ErrInvalidRequest)
}

// NextDelay says how long to wait after attempt number attempt (1 for the
// first) ended in res, and false when to give up instead: when res is not
// Retryable or the schedule (1s, 5s, 30s, 2m, 10m, 1h) is used up. The
// scheduled delay gets ±20% jitter from rnd (uniform in [0,1); nil means
// math/rand/v2). For 429 and 503 a Retry-After in seconds or as an HTTP-date
// replaces the scheduled delay, without jitter, clamped to [1s, 1h].
func NextDelay(attempt int, res Result, rnd func() float64) (time.Duration, bool) {
	if !Retryable(res) {
		return 0, false
	}
	attempt = max(attempt, 1)
	if attempt > len(schedule) {
		return 0, false
	}
	if res.Status == http.StatusTooManyRequests || res.Status == http.StatusServiceUnavailable {
		if d, ok := retryAfter(res.Header); ok {
			return min(max(d, minRetryAfter), maxRetryAfter), true
		}
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	d := schedule[attempt-1]
	return time.Duration(float64(d) * (1 - jitter + 2*jitter*rnd())), true
}

// retryAfter parses a Retry-After header (RFC 9110 §10.2.3).
func retryAfter(h http.Header) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if strings.Trim(v, "0123456789") == "" {
		n, err := strconv.ParseUint(v, 10, 63)
		if err != nil || n > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true // only digits, so too big to parse
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return t.Sub(now()), true
}
