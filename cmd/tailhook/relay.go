package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"

	"github.com/tailhook-dev/tailhook/relay"
)

const relayUsage = `Usage: tailhook relay URL --to TARGET [--token T] [--from-seq N]

Follows a bin's live stream and re-sends every captured request to TARGET
(joined with the captured path and query), like smee-client. URL is the bin's
inspect or capture URL. Reconnects after any break without missing or
repeating a request. Flags may come before or after URL.

Flags:
`

// relayCmd runs 'tailhook relay'.
func relayCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tailhook relay", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		to       = fs.String("to", getenv("TAILHOOK_RELAY_TO"), "`target` to re-send requests to, e.g. http://localhost:3000 (env TAILHOOK_RELAY_TO)")
		token    = fs.String("token", getenv("TAILHOOK_TOKEN"), "the bin's API `token` (env TAILHOOK_TOKEN); not needed in a URL that has ?token=")
		fromSeq  = fs.String("from-seq", "", "start after this `seq`: 0 replays the whole bin (default: live requests only)")
		maxBody  = fs.String("max-body", "10MiB", "the server's --max-body, to size the stream buffer")
		verbose  = fs.Bool("v", false, "log diagnostics to stderr")
		url      string
		rest     = args
		parseErr error
	)
	// flag stops at the first argument that is not a flag: parse in rounds
	// so that the URL may come anywhere.
	for {
		if parseErr = fs.Parse(rest); parseErr != nil {
			break
		}
		if fs.NArg() == 0 {
			break
		}
		if url != "" {
			return usagef("relay takes one URL, got %q and %q (see 'tailhook help relay')", url, fs.Arg(0))
		}
		url, rest = fs.Arg(0), fs.Args()[1:]
	}
	if errors.Is(parseErr, flag.ErrHelp) {
		fmt.Fprint(stdout, relayUsage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return errHelp
	}
	if parseErr != nil {
		return usagef("%v (see 'tailhook help relay')", parseErr)
	}
	if url == "" {
		return usagef("relay needs the bin's URL: tailhook relay URL --to TARGET")
	}
	if *to == "" {
		return usagef("relay needs --to TARGET, e.g. --to http://localhost:3000")
	}
	o := relay.Options{URL: url, To: *to, Token: *token, FromSeq: relay.LiveOnly, Out: stdout}
	if *fromSeq != "" {
		n, err := strconv.ParseInt(*fromSeq, 10, 64)
		if err != nil || n < 0 {
			return usagef("invalid value %q for --from-seq: want a seq of 0 or more", *fromSeq)
		}
		o.FromSeq = n
	}
	mb, err := parseSize(*maxBody)
	if err != nil || mb <= 0 {
		return usagef("invalid value %q for --max-body: want a size such as 10MiB", *maxBody)
	}
	o.MaxBody = mb
	if *verbose {
		o.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	err = relay.Run(ctx, o)
	if errors.Is(err, relay.ErrOptions) {
		// A URL that is not a bin's is a usage error like any other: exit 2.
		return usageError{err.Error() + " (see 'tailhook help relay')"}
	}
	return err
}
