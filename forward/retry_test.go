package forward

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestRetryable(t *testing.T) {
	tests := []struct {
		res  Result
		want bool
	}{
		{Result{Err: errors.New("connection refused")}, true},
		{Result{Err: ErrRefused}, false},
		{Result{Err: ErrInvalidURL}, false},
		{Result{Status: 200}, false},
		{Result{Status: 302}, false},
		{Result{Status: 400}, false},
		{Result{Status: 404}, false},
		{Result{Status: 408}, true},
		{Result{Status: 429}, true},
		{Result{Status: 500}, true},
		{Result{Status: 503}, true},
		{Result{Status: 599}, true},
		{Result{Status: 200, Err: errors.New("body cut")}, false},
		{Result{}, false},
	}
	for _, tt := range tests {
		if got := Retryable(tt.res); got != tt.want {
			t.Errorf("Retryable(%d, %v) = %v, want %v", tt.res.Status, tt.res.Err, got, tt.want)
		}
	}
}

func TestNextDelay(t *testing.T) {
	fixed := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	now = func() time.Time { return fixed }
	defer func() { now = time.Now }()
	half := func() float64 { return 0.5 }
	low := func() float64 { return 0 }
	high := func() float64 { return 0.75 }
	netErr := Result{Err: errors.New("dial tcp: connection refused")}
	withRA := func(status int, ra string) Result {
		return Result{Status: status, Header: http.Header{"Retry-After": {ra}}}
	}

	tests := []struct {
		name    string
		attempt int
		res     Result
		rnd     func() float64
		want    time.Duration
		ok      bool
	}{
		{"first", 1, netErr, half, time.Second, true},
		{"second", 2, Result{Status: 500}, half, 5 * time.Second, true},
		{"third", 3, Result{Status: 408}, half, 30 * time.Second, true},
		{"fourth", 4, Result{Status: 502}, half, 2 * time.Minute, true},
		{"fifth", 5, Result{Status: 504}, half, 10 * time.Minute, true},
		{"sixth", 6, netErr, half, time.Hour, true},
		{"give up", 7, netErr, half, 0, false},
		{"attempt 0 treated as 1", 0, netErr, half, time.Second, true},
		{"jitter low", 2, netErr, low, 4 * time.Second, true},
		{"jitter high", 2, netErr, high, 5500 * time.Millisecond, true},
		{"not retryable 400", 1, Result{Status: 400}, half, 0, false},
		{"not retryable 200", 1, Result{Status: 200}, half, 0, false},
		{"not retryable refused", 1, Result{Err: ErrRefused}, half, 0, false},
		{"429 seconds", 1, withRA(429, "120"), low, 2 * time.Minute, true},
		{"503 seconds", 3, withRA(503, " 7 "), low, 7 * time.Second, true},
		{"429 date", 1, withRA(429, fixed.Add(90*time.Second).Format(http.TimeFormat)), low, 90 * time.Second, true},
		{"503 RFC 850 date", 1, withRA(503, fixed.Add(time.Minute).Format("Monday, 02-Jan-06 15:04:05 GMT")), low, time.Minute, true},
		{"date in the past", 2, withRA(429, fixed.Add(-time.Hour).Format(http.TimeFormat)), low, time.Second, true},
		{"zero", 2, withRA(429, "0"), low, time.Second, true},
		{"capped", 1, withRA(429, "86400"), low, time.Hour, true},
		{"capped huge", 1, withRA(429, "99999999999999999999"), half, time.Hour, true},
		{"capped date", 1, withRA(503, fixed.Add(48*time.Hour).Format(http.TimeFormat)), low, time.Hour, true},
		{"garbage", 2, withRA(429, "soon"), half, 5 * time.Second, true},
		{"negative", 2, withRA(429, "-5"), half, 5 * time.Second, true},
		{"500 ignores Retry-After", 1, withRA(500, "120"), half, time.Second, true},
		{"Retry-After does not extend the schedule", 7, withRA(429, "5"), half, 0, false},
	}
	for _, tt := range tests {
		got, ok := NextDelay(tt.attempt, tt.res, tt.rnd)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: NextDelay = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}

	// nil rnd uses the default source and stays within the jitter band.
	for range 100 {
		d, ok := NextDelay(3, netErr, nil)
		if !ok || d < 24*time.Second || d > 36*time.Second {
			t.Fatalf("NextDelay(3, nil rnd) = %v, %v", d, ok)
		}
	}
}
