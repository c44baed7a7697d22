// Command tailhook-bench measures tailhook against a no-op net/http server
// on the same machine, in the same run, and reports ratios: capture
// throughput and latency, CPU per request, memory, database size, live
// stream latency and event integrity, a bin holding a million requests, and
// capture latency while pruning runs. See docs/performance.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tailhook-bench:", err)
		os.Exit(1)
	}
}

// config is what the command line asks for.
type config struct {
	URL          string
	Tailhook     string
	Conns        int
	Duration     time.Duration
	Rounds       int
	Body         int
	Subscribers  int
	Rate         float64
	LiveDuration time.Duration
	Scenarios    []string
	Prefill      int64
	PruneRows    int64
	PruneCap     int64
	PruneRate    float64
	PruneTimeout time.Duration
	ForwardConns int
	ForwardBurst int
	SoakDuration time.Duration
	SoakCap      int64
	SoakSample   time.Duration
	Pprof        bool
	JSON         bool
	Dir          string
	DB           string
}

func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

var allScenarios = []string{"capture", "subscribers", "live", "big", "prune", "soak", "forward", "cluster"}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("tailhook-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: tailhook-bench [flags]

Starts a no-op net/http server and tailhook (fresh temporary database) as
child processes on 127.0.0.1, drives both alternately with the same load,
and reports each one's figures and the ratio tailhook/baseline. With --url
it drives an instance that is already running instead (no baseline, no
process figures; the big and prune scenarios need the local server).

Scenarios (--scenarios, comma-separated; default capture,subscribers,live):
  capture      closed loop: --conns connections POST --body-byte JSON bodies to one bin
  subscribers  the same with --subscribers live streams open on the bin
  live         open loop at --rate requests/s; time from POST sent to SSE event
               received, with 1 and with --subscribers subscribers
  big          a bin prefilled with --prefill requests: capture rate against an
               empty bin, list and detail p99, inspector page time, RSS
  prune        a bin --prune-rows over its cap is pruned while an open loop at
               --prune-rate captures into another bin: latency before and during
  forward      auto-forward to a no-op target in this process: capture rate with it
               on against off (--forward-conns connections), then per mode
               (in_order, independent) the rate at which a held-back burst of
               --forward-burst captures is delivered; lost, duplicated and
               out-of-order deliveries are counted each time
  cluster      with --db postgres://…: a second tailhook on the same database;
               capture rate into one bin and into 16 bins through one instance
               and through both, then live latency from a capture on one
               instance to its event on the other's stream
  soak         --conns connections capture at full speed into one bin capped at
               --soak-cap for --soak-duration; every --soak-sample it prints the
               rate, capture p99, database size (+WAL), RSS and the bin's count
Every run of subscribers checks that each event arrives once and in order.

Flags:
`)
		fs.PrintDefaults()
	}
	var scen string
	fs.StringVar(&c.URL, "url", "", "drive this running tailhook (origin, e.g. http://127.0.0.1:8080) instead of starting one")
	fs.StringVar(&c.Tailhook, "tailhook", "", "tailhook binary to run (default: go build ./cmd/tailhook into the work folder)")
	fs.IntVar(&c.Conns, "conns", 32, "connections of the closed-loop load")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "load time per server and scenario, split into --rounds alternating slices")
	fs.IntVar(&c.Rounds, "rounds", 3, "alternating baseline/tailhook slices per scenario")
	fs.IntVar(&c.Body, "body", 1024, "request body size in bytes (JSON)")
	fs.IntVar(&c.Subscribers, "subscribers", 100, "live subscribers for the subscribers and live scenarios")
	fs.Float64Var(&c.Rate, "rate", 100, "requests per second of the live scenario (open loop)")
	fs.DurationVar(&c.LiveDuration, "live-duration", 10*time.Second, "length of each live run")
	fs.StringVar(&scen, "scenarios", "capture,subscribers,live", "scenarios to run: "+strings.Join(allScenarios, ","))
	fs.Int64Var(&c.Prefill, "prefill", 1_000_000, "requests in the big scenario's bin")
	fs.Int64Var(&c.PruneRows, "prune-rows", 200_000, "requests in the prune scenario's bin")
	fs.Int64Var(&c.PruneCap, "prune-cap", 10_000, "--max-requests of the prune scenario's server")
	fs.Float64Var(&c.PruneRate, "prune-rate", 500, "requests per second captured while pruning")
	fs.DurationVar(&c.PruneTimeout, "prune-timeout", 3*time.Minute, "longest the prune scenario runs")
	fs.IntVar(&c.ForwardConns, "forward-conns", 8, "connections of the forward scenario's load")
	fs.IntVar(&c.ForwardBurst, "forward-burst", 5000, "captures in each burst of the forward scenario")
	fs.DurationVar(&c.SoakDuration, "soak-duration", 2*time.Minute, "length of the soak scenario")
	fs.Int64Var(&c.SoakCap, "soak-cap", 1000, "--max-requests of the soak scenario's server")
	fs.DurationVar(&c.SoakSample, "soak-sample", 5*time.Second, "sampling interval of the soak scenario")
	fs.BoolVar(&c.Pprof, "pprof", false, "start tailhook with --pprof (profile it with go tool pprof while the tool runs)")
	fs.BoolVar(&c.JSON, "json", false, "print the report as JSON")
	fs.StringVar(&c.DB, "db", "", "database of the capture, subscribers, live and cluster scenarios' tailhook: a postgres:// URL (its schema should be empty) instead of a fresh SQLite file")
	fs.StringVar(&c.Dir, "dir", "", "work folder for databases and server logs (default: a temporary one, removed afterwards)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for s := range strings.SplitSeq(scen, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(allScenarios, s) {
			return c, fmt.Errorf("unknown scenario %q; want some of %s", s, strings.Join(allScenarios, ","))
		}
		c.Scenarios = append(c.Scenarios, s)
	}
	switch {
	case c.Conns < 1, c.ForwardConns < 1, c.ForwardBurst < 1, c.Rounds < 1, c.Body < 0, c.Subscribers < 1, c.Rate <= 0, c.PruneRate <= 0:
		return c, errors.New("--conns, --forward-conns, --forward-burst, --rounds, --subscribers, --rate and --prune-rate must be positive, --body not negative")
	case c.Duration < 100*time.Millisecond*time.Duration(c.Rounds), c.LiveDuration < 100*time.Millisecond:
		return c, errors.New("--duration must give each round at least 100ms; --live-duration at least 100ms")
	case c.PruneCap < 1 || c.PruneRows <= c.PruneCap:
		return c, errors.New("--prune-rows must be above --prune-cap, which must be at least 1")
	case c.Prefill < 1:
		return c, errors.New("--prefill must be at least 1")
	case c.SoakCap < 1 || c.SoakSample < 100*time.Millisecond || c.SoakDuration < c.SoakSample:
		return c, errors.New("--soak-cap must be at least 1, --soak-sample at least 100ms and --soak-duration at least one sample")
	}
	if c.URL != "" {
		if _, err := parseTarget(c.URL); err != nil {
			return c, fmt.Errorf("--url: %w", err)
		}
		if slices.Contains(c.Scenarios, "big") || slices.Contains(c.Scenarios, "prune") || slices.Contains(c.Scenarios, "soak") {
			return c, errors.New("the big, prune and soak scenarios read a database file: they need the local server, not --url")
		}
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 1 && args[0] == baselineCommand {
		return runBaseline(ctx, stdout)
	}
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	b := &bench{cfg: c, log: stderr, body: payload(c.Body), epoch0: time.Now()}
	rep := &report{
		Command: "tailhook-bench " + strings.Join(args, " "),
		Machine: machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version()},
		Conns:   c.Conns, BodyBytes: c.Body, Started: time.Now().UTC().Format(time.RFC3339),
	}
	if err := b.setup(ctx); err != nil {
		return err
	}
	defer b.teardown()
	for _, s := range c.Scenarios {
		if err := b.scenario(ctx, s, rep); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	if c.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.text(stdout)
	return nil
}

// machine describes where the figures come from.
type machine struct {
	OS   string `json:"os"`
	Arch string `json:"arch"`
	CPUs int    `json:"cpus"`
	Go   string `json:"go"`
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
