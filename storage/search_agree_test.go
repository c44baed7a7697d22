package storage

import (
	"context"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"testing"
)

// The search predicate exists in SQL (matchSQL) and in Go (Request.Matches):
// these tests hold the two to the same answer on random requests and
// needles, including needles made of the headers' JSON punctuation.

// alphabet mixes what makes the two sides disagree when they drift: JSON
// punctuation, escapes, ASCII and non-ASCII capitals, multi-byte UTF-8 and
// its lone pieces, NUL and %.
var searchAlphabet = []string{"a", "B", "z", ":", "[", "]", "\"", "{", "}", ",", "\\", "/", "?", " ", "%", "<", "&",
	"\x00", "\n", "É", "é", "€", "\x82", "\xe2", "\xff", "\u2028", "-", "x", "Q"}

func randText(rng *rand.Rand, max int) string {
	n := rng.IntN(max + 1)
	var b []byte
	for range n {
		b = append(b, searchAlphabet[rng.IntN(len(searchAlphabet))]...)
	}
	return string(b)
}

func randSearchRequest(rng *rand.Rand, binID string) *Request {
	r := newRequest(binID)
	r.Method = []string{"POST", "get", "PUT", "Delete"}[rng.IntN(4)]
	r.Path = "/" + randText(rng, 6)
	r.Query = randText(rng, 5)
	r.Header = http.Header{}
	for range rng.IntN(4) {
		name := randText(rng, 5)
		if name == listKey {
			// No HTTP header has an empty name: storage keeps the
			// header lines under it (headerlist.go), which
			// TestSearchAgreesOnHeaderLines covers.
			name = "x"
		}
		for range rng.IntN(3) {
			r.Header[name] = append(r.Header[name], randText(rng, 6))
		}
		if rng.IntN(5) == 0 {
			r.Header[name] = nil
		}
	}
	r.Body = []byte(randText(rng, 12))
	return r
}

// needles are random texts, pieces of the requests themselves, and the
// JSON punctuation the headers column is made of.
func randNeedles(rng *rand.Rand, reqs []*Request, n int) []string {
	out := []string{`":["`, `":`, `["`, `"]`, `","`, `{"`, `\u003c`, `null`, "%25", "%FF", "\x00"}
	for len(out) < n {
		switch rng.IntN(3) {
		case 0:
			out = append(out, randText(rng, 3))
		case 1:
			r := reqs[rng.IntN(len(reqs))]
			s := r.Method + " " + r.Path + "?" + r.Query + string(r.Body)
			for k, vs := range r.Header {
				s += k + "\x01" + escapeHeaderString(k) + "\x01"
				for _, v := range vs {
					s += v + escapeHeaderString(v)
				}
			}
			if len(s) > 0 {
				i := rng.IntN(len(s))
				j := min(len(s), i+1+rng.IntN(4))
				out = append(out, s[i:j])
			}
		default:
			out = append(out, randText(rng, 1))
		}
	}
	return out
}

// checkSearchAgrees stores reqs in a fresh bin and compares, per needle, the
// requests SQL lists with those Request.Matches accepts.
func checkSearchAgrees(t *testing.T, db *DB, reqs []*Request, needles []string) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, len(reqs))
	for _, r := range reqs {
		wg.Go(func() {
			if _, err := db.Capture(ctx, Capture{Request: r}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, q := range needles {
		if q == "" {
			continue
		}
		listed, _, err := db.ListRequests(ctx, reqs[0].BinID, ListOptions{Limit: 500, Query: q})
		if err != nil {
			t.Fatalf("list %q: %v", q, err)
		}
		var inSQL, inGo []int64
		for _, r := range listed {
			inSQL = append(inSQL, r.Seq)
		}
		for _, r := range reqs {
			if r.Matches(q) {
				inGo = append(inGo, r.Seq)
			}
		}
		slices.Sort(inSQL)
		slices.Sort(inGo)
		if !slices.Equal(inSQL, inGo) {
			for _, r := range reqs {
				if slices.Contains(inSQL, r.Seq) != slices.Contains(inGo, r.Seq) {
					t.Errorf("q=%q: SQL %v, Go %v; e.g. seq %d: %q %q?%q headers %q body %q",
						q, slices.Contains(inSQL, r.Seq), slices.Contains(inGo, r.Seq), r.Seq, r.Method, r.Path, r.Query, r.Header, r.Body)
					break
				}
			}
		}
		// Backlog (live catch-up, the wait API) uses the same SQL through
		// Filter.
		first, err := firstMatchAfter(db, ctx, reqs[0].BinID, 0, Filter{Query: q})
		if len(inGo) == 0 && err == nil || len(inGo) > 0 && (err != nil || first.Seq != inGo[0]) {
			t.Errorf("q=%q: first match = %v, %v; want seq %v", q, first, err, inGo)
		}
	}
}

func TestSearchAgrees(t *testing.T) {
	db := mustOpenDB(t, Options{})
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 3 {
		bin := mustCreateBin(t, db, "", "")
		reqs := make([]*Request, 120)
		for i := range reqs {
			reqs[i] = randSearchRequest(rng, bin.ID)
		}
		if round == 0 {
			// The review's case: a query made of JSON punctuation.
			reqs[0].Header = http.Header{"X-A": {"b"}}
		}
		checkSearchAgrees(t, db, reqs, randNeedles(rng, reqs, 150))
	}
}

// FuzzSearchAgrees: go test ./storage -run '^$' -fuzz FuzzSearchAgrees
func FuzzSearchAgrees(f *testing.F) {
	f.Add(uint64(1), `":["`)
	f.Add(uint64(2), "\x82")
	f.Add(uint64(3), "%25")
	db := mustOpenDB(f, Options{})
	f.Fuzz(func(t *testing.T, seed uint64, needle string) {
		rng := rand.New(rand.NewPCG(seed, 7))
		bin := mustCreateBin(t, db, "", "")
		reqs := make([]*Request, 8)
		for i := range reqs {
			reqs[i] = randSearchRequest(rng, bin.ID)
		}
		checkSearchAgrees(t, db, reqs, append(randNeedles(rng, reqs, 16), needle))
	})
}

// TestSearchAgreesOnHeaderLines: the header lines as received (HeaderList)
// are searchable, in SQL and in Go alike, as "name:value".
func TestSearchAgreesOnHeaderLines(t *testing.T) {
	db := mustOpenDB(t, Options{})
	bin := mustCreateBin(t, db, "", "")
	r := newRequest(bin.ID)
	r.Header = http.Header{"X-Github-Event": {"push"}}
	r.HeaderList = []HeaderLine{{"x-github-event", "push"}, {"X-Raw", "caf\xe9"}}
	checkSearchAgrees(t, db, []*Request{r}, []string{"x-github-event:push", "event:pu", "x-raw:caf", "nope:", "push"})
}
