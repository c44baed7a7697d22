// Command tailhook is a self-hosted webhook inspector: it captures requests
// sent to /b/{bin}, stores them in SQLite and shows them live.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	var ue usageError
	switch {
	case err == nil:
	case errors.As(err, &ue):
		fmt.Fprintln(os.Stderr, "tailhook:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "tailhook:", err)
		os.Exit(1)
	}
}

// usageError is a bad command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

const usage = `tailhook — a self-hosted webhook inspector

Usage:
  tailhook [serve] [flags]          run the web app and capture endpoint
  tailhook relay URL --to TARGET    re-send a bin's captured requests to TARGET
  tailhook version                  print the version
  tailhook help [command]           show help

Run 'tailhook help serve' or 'tailhook help relay' for their flags.
`

// run is the whole program, minus the process: tests call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		cfg, err := parseServe(args, getenv, stdout)
		if errors.Is(err, errHelp) {
			return nil
		}
		if err != nil {
			return err
		}
		return serve(ctx, cfg, stdout, stderr)
	case "relay":
		err := relayCmd(ctx, args, getenv, stdout, stderr)
		if errors.Is(err, errHelp) {
			return nil
		}
		return err
	case "version":
		fmt.Fprintln(stdout, "tailhook", version)
		return nil
	case "help", "-h", "--help":
		if len(args) > 0 {
			switch args[0] {
			case "serve":
				_, err := parseServe([]string{"-h"}, getenv, stdout)
				if errors.Is(err, errHelp) {
					return nil
				}
				return err
			case "relay":
				err := relayCmd(ctx, []string{"-h"}, getenv, stdout, stderr)
				if errors.Is(err, errHelp) {
					return nil
				}
				return err
			}
		}
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usagef("unknown command %q (try 'tailhook help')", cmd)
}
