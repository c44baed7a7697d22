package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// report is everything one run measured; --json prints it as it is.
type report struct {
	Command            string         `json:"command"`
	Started            string         `json:"started"`
	Machine            machine        `json:"machine"`
	Conns              int            `json:"conns"`
	BodyBytes          int            `json:"body_bytes"`
	Capture            *captureReport `json:"capture,omitempty"`
	CaptureSubscribers *captureReport `json:"capture_subscribers,omitempty"`
	Live               []*liveReport  `json:"live,omitempty"`
	Big                *bigReport     `json:"big,omitempty"`
	Prune              *pruneReport   `json:"prune,omitempty"`
	Forward            *forwardReport `json:"forward,omitempty"`
	Soak               *soakReport    `json:"soak,omitempty"`
	Cluster            *clusterReport `json:"cluster,omitempty"`
}

func (r *report) text(w io.Writer) {
	fmt.Fprintf(w, "%s\n%s/%s, %d CPUs, %s, started %s\n", r.Command, r.Machine.OS, r.Machine.Arch, r.Machine.CPUs, r.Machine.Go, r.Started)
	for _, c := range []*captureReport{r.Capture, r.CaptureSubscribers} {
		if c == nil {
			continue
		}
		fmt.Fprintf(w, "\nCapture: %d connections, %d B JSON bodies, one bin, %d live subscribers\n", c.Conns, r.BodyBytes, c.Subscribers)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "\trequests/s\tp50 ms\tp99 ms\terrors\tCPU µs/req\tcores used\tRSS MiB\t")
		row := func(name string, s side) {
			fmt.Fprintf(tw, "%s\t%.0f\t%.2f\t%.2f\t%d\t%s\t%s\t%s\t\n", name, s.RPS, s.Latency.P50Ms, s.Latency.P99Ms, s.Errors,
				opt(s.CPUPerReqUs, "%.0f"), opt(s.CPUUtil, "%.2f"), opt(s.RSSMiB, "%.1f"))
		}
		if c.Baseline != nil {
			row("baseline", *c.Baseline)
		}
		row("tailhook", c.Tailhook)
		tw.Flush()
		if c.Ratio > 0 {
			fmt.Fprintf(w, "ratio tailhook/baseline: %.2f×\n", c.Ratio)
		}
		if c.MeanBatch > 0 {
			fmt.Fprintf(w, "group commit: %.1f captures per commit on average, %.2f ms per commit, %.2f ms per fsync\n", c.MeanBatch, c.MeanCommitMs, c.MeanFsyncMs)
		}
		if c.DBMiB > 0 {
			fmt.Fprintf(w, "database (file + WAL): %.1f MiB\n", c.DBMiB)
		}
		if c.Tailhook.FirstError != "" {
			fmt.Fprintf(w, "first error: %s\n", c.Tailhook.FirstError)
		}
		if c.Events != nil {
			events(w, *c.Events)
		}
	}
	for _, l := range r.Live {
		fmt.Fprintf(w, "\nLive: %.0f requests/s open loop, %d subscribers, %d sent (%d errors)\n", l.Rate, l.Subscribers, l.Sent, l.Errors)
		fmt.Fprintf(w, "POST answered:          p50 %.2f ms  p99 %.2f ms  max %.2f ms\n", l.Post.P50Ms, l.Post.P99Ms, l.Post.MaxMs)
		fmt.Fprintf(w, "POST sent → SSE event:  p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%d events)\n", l.Live.P50Ms, l.Live.P99Ms, l.Live.MaxMs, l.Live.N)
		if l.FirstError != "" {
			fmt.Fprintf(w, "first error: %s\n", l.FirstError)
		}
		events(w, l.Events)
	}
	if b := r.Big; b != nil {
		fmt.Fprintf(w, "\nBig bin: %d requests (prefilled in %.0f s)\n", b.Requests, b.PrefillS)
		fmt.Fprintf(w, "capture: empty bin %.0f/s, big bin %.0f/s, ratio %.2f (big bin p99 %.2f ms)\n", b.EmptyRPS, b.BigRPS, b.Ratio, b.BigCapture.P99Ms)
		fmt.Fprintf(w, "list page (limit 50):  p50 %.2f ms  p99 %.2f ms\n", b.List.P50Ms, b.List.P99Ms)
		fmt.Fprintf(w, "request detail:        p50 %.2f ms  p99 %.2f ms\n", b.Detail.P50Ms, b.Detail.P99Ms)
		fmt.Fprintf(w, "inspector page:        p50 %.2f ms  p99 %.2f ms  (%.0f KiB)\n", b.Inspector.P50Ms, b.Inspector.P99Ms, b.InspectorKiB)
		fmt.Fprintf(w, "RSS %.1f MiB (peak %.1f MiB), database %.0f MiB, %d capture errors\n", b.RSSMiB, b.PeakRSSMiB, b.DBMiB, b.RequestErrors)
	}
	if r.Forward != nil {
		r.Forward.text(w)
	}
	if p := r.Prune; p != nil {
		fmt.Fprintf(w, "\nPruning: %d requests over a cap of %d, while capturing %.0f/s into another bin\n", p.Rows, p.Cap, p.Rate)
		fmt.Fprintf(w, "capture before pruning:  p50 %.2f ms  p99 %.2f ms  (%d)\n", p.Before.P50Ms, p.Before.P99Ms, p.Before.N)
		fmt.Fprintf(w, "capture while pruning:   p50 %.2f ms  p99 %.2f ms  (%d)\n", p.During.P50Ms, p.During.P99Ms, p.During.N)
		if p.Finished {
			fmt.Fprintf(w, "pruning took %.1f s; p99 while pruning / before: %.2f; %d errors\n", p.PruneS, p.P99RatioDurB, p.Errors)
		} else {
			fmt.Fprintf(w, "pruning did not finish within the time limit; %d errors\n", p.Errors)
		}
	}
	if r.Cluster != nil {
		r.Cluster.text(w)
	}
	if r.Soak != nil {
		r.Soak.text(w, r.BodyBytes)
	}
}

func events(w io.Writer, e eventCheck) {
	verdict := "OK"
	switch {
	case e.Lost > 0 || e.Duplicated > 0 || e.OutOfOrder > 0:
		verdict = "FAILED"
	case e.Behind > 0:
		verdict = "SLOW (in order, nothing lost, but not caught up within 60 s)"
	}
	fmt.Fprintf(w, "events: %s — %d subscribers × %d events: %d lost, %d duplicated, %d out of order, %d not delivered yet, %d reconnects; caught up %.1f s after the load\n",
		verdict, e.Subscribers, e.Expected, e.Lost, e.Duplicated, e.OutOfOrder, e.Behind, e.Reconnects, e.CatchUpS)
}

func opt(v float64, format string) string {
	if v == 0 {
		return "n/a"
	}
	return fmt.Sprintf(format, v)
}
