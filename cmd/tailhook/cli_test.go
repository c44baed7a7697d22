package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// TestCLI pins the command line's behaviour as people know it from the Go
// tools: help per command, --version, and exit status 2 with a hint for
// anything the command line got wrong.
func TestCLI(t *testing.T) {
	for _, tt := range []struct {
		args     []string
		code     int
		stdout   []string // each must appear in stdout
		errParts []string // each must appear in the error
	}{
		{args: []string{"help"}, stdout: []string{"tailhook relay URL", "tailhook version", "tailhook help"}},
		{args: []string{"--help"}, stdout: []string{"tailhook relay URL", "tailhook [serve]"}},
		{args: []string{"-h"}, stdout: []string{"tailhook relay URL"}},
		{args: []string{"help", "serve"}, stdout: []string{"-max-body", "-trust-proxy", "-pprof", "-allow-private-forwarding"}},
		{args: []string{"serve", "--help"}, stdout: []string{"-max-body", "-trust-proxy"}},
		{args: []string{"help", "relay"}, stdout: []string{"--to TARGET", "-from-seq"}},
		{args: []string{"relay", "-h"}, stdout: []string{"--to TARGET"}},
		{args: []string{"help", "version"}, stdout: []string{"tailhook version"}},
		{args: []string{"version"}, stdout: []string{"tailhook " + version}},
		{args: []string{"--version"}, stdout: []string{"tailhook " + version}},
		{args: []string{"-version"}, stdout: []string{"tailhook " + version}},
		{args: []string{"help", "bogus"}, code: 2, errParts: []string{`unknown help topic "bogus"`, "tailhook help"}},
		{args: []string{"help", "serve", "relay"}, code: 2, errParts: []string{"at most one command"}},
		{args: []string{"bogus"}, code: 2, errParts: []string{`unknown command "bogus"`, "tailhook help"}},
		{args: []string{"version", "x"}, code: 2, errParts: []string{"no arguments"}},
		{args: []string{"--bogus"}, code: 2, errParts: []string{"-bogus", "tailhook help serve"}},
		{args: []string{"serve", "--max-body", "lots"}, code: 2, errParts: []string{"--max-body", "TAILHOOK_MAX_BODY"}},
		{args: []string{"relay"}, code: 2, errParts: []string{"needs the bin's URL"}},
		{args: []string{"relay", "http://127.0.0.1:1/bins/x"}, code: 2, errParts: []string{"--to"}},
		{args: []string{"relay", "notaurl", "--to", "http://127.0.0.1:1"}, code: 2, errParts: []string{`"notaurl"`, "tailhook help relay"}},
		{args: []string{"relay", "http://127.0.0.1:1/bins/x", "--to", "localhost:3000"}, code: 2, errParts: []string{"--to", "not http or https"}},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), tt.args, noEnv, &out, &errb)
			if got := exitCode(err); got != tt.code {
				t.Fatalf("exit %d (%v), want %d", got, err, tt.code)
			}
			for _, want := range tt.stdout {
				if !strings.Contains(out.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, out.String())
				}
			}
			for _, want := range tt.errParts {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("error %v lacks %q", err, want)
				}
			}
			if all := out.String() + errb.String(); strings.Contains(all, "panic") {
				t.Errorf("output mentions a panic:\n%s", all)
			}
		})
	}
	if exitCode(errors.New("disk on fire")) != 1 {
		t.Error("a runtime failure must exit 1")
	}
}

func TestAllInterfaces(t *testing.T) {
	for addr, want := range map[string]bool{
		":8080": true, "0.0.0.0:8080": true, "[::]:8080": true,
		"127.0.0.1:8080": false, "[::1]:8080": false, "localhost:8080": false,
		"192.0.2.1:80": false, "bogus": false,
	} {
		if got := allInterfaces(addr); got != want {
			t.Errorf("allInterfaces(%q) = %v, want %v", addr, got, want)
		}
	}
}
