package web

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a token bucket per key: per bin for captures (burst twice the
// rate), so one noisy sender cannot starve the others or fill the disk, and
// per client address for bin creation.
type limiter struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	bins  map[string]*binLimit
}

type binLimit struct {
	l        *rate.Limiter
	lastSeen time.Time
}

func newLimiter(perSecond float64) *limiter {
	return &limiter{rate: rate.Limit(perSecond), burst: max(1, int(2*perSecond)), bins: map[string]*binLimit{}}
}

// newLimiterPer allows n events per period, burst at once; n == 0 is off.
func newLimiterPer(n float64, period time.Duration, burst int) *limiter {
	return &limiter{rate: rate.Limit(n / period.Seconds()), burst: max(1, burst), bins: map[string]*binLimit{}}
}

// allow takes a token for bin; when there is none it says how long until one.
func (l *limiter) allow(bin string) (bool, time.Duration) {
	if l.rate <= 0 {
		return true, 0
	}
	now := time.Now()
	l.mu.Lock()
	b := l.bins[bin]
	if b == nil {
		b = &binLimit{l: rate.NewLimiter(l.rate, l.burst)}
		l.bins[bin] = b
	}
	b.lastSeen = now
	l.mu.Unlock()
	r := b.l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep forgets buckets of bins that have been quiet long enough to be full
// again, so the map does not grow with every bin ever seen.
func (l *limiter) sweep(ctx context.Context, every time.Duration) {
	if l.rate <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			l.mu.Lock()
			for id, b := range l.bins {
				if now.Sub(b.lastSeen) > every {
					delete(l.bins, id)
				}
			}
			l.mu.Unlock()
		}
	}
}
