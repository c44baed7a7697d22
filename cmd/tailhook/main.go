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
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tailhook:", err)
	}
	os.Exit(exitCode(err))
}

// exitCode is the process status for run's error, as the Go tools do it:
// 0 for success, 2 for a bad command line, 1 for anything else.
func exitCode(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return 2
	}
	return 1
}

// usageError is a bad command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

const usage = `tailhook — a self-hosted webhook inspector

Usage:
  tailhook [serve] [flags]          run the web app and capture endpoint
  tailhook relay URL --to TARGET    re-send a bin's captured requests to TARGET
  tailhook version                  print the version (also: tailhook --version)
  tailhook help [command]           show help for a command

Run 'tailhook help serve' or 'tailhook help relay' for their flags.
`

// run is the whole program, minus the process: tests call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		switch a := args[0]; {
		case a == "-h" || a == "-help" || a == "--help":
			cmd, args = "help", args[1:]
		case a == "-version" || a == "--version":
			cmd, args = "version", args[1:]
		case a != "" && a[0] != '-':
			cmd, args = a, args[1:]
		}
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
		if len(args) > 0 {
			return usagef("version takes no arguments, got %q", args[0])
		}
		fmt.Fprintln(stdout, "tailhook", version)
		return nil
	case "help":
		return help(ctx, args, getenv, stdout, stderr)
	}
	return usagef("unknown command %q; commands are serve, relay, version and help (run 'tailhook help')", cmd)
}

// help prints the general usage, or one command's, like 'go help CMD'.
func help(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 1 {
		return usagef("help takes at most one command, got %q", strings.Join(args, " "))
	}
	topic := ""
	if len(args) == 1 {
		topic = args[0]
	}
	var err error
	switch topic {
	case "":
		fmt.Fprint(stdout, usage)
	case "serve":
		_, err = parseServe([]string{"-h"}, getenv, stdout)
	case "relay":
		err = relayCmd(ctx, []string{"-h"}, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "Usage: tailhook version\n\nPrints the version (the same as tailhook --version).")
	case "help":
		fmt.Fprintln(stdout, "Usage: tailhook help [command]\n\nShows the commands, or one command's flags.")
	default:
		return usagef("unknown help topic %q; topics are serve, relay, version and help (run 'tailhook help')", topic)
	}
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}
