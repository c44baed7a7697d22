package main

import (
	"context"
	"io"
)

// relayCmd is wired once the relay package lands (same session).
func relayCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return usagef("relay: not built yet")
}
