// Command cloudflare-purge-action purges Cloudflare's cache for a zone, or
// for one environment of it. It runs as a GitHub container action (inputs
// from INPUT_* variables) or locally (the same names as flags).
package main

import (
	"context"
	_ "embed"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/cfpurge/cloudflare-purge-action/internal/command"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// actionYML is the table of inputs: names, defaults, help.
//
//go:embed action.yml
var actionYML []byte

func main() {
	// A long target list is parsed line by line, which makes garbage at
	// every line while the list itself stays: collecting at half the
	// usual heap growth keeps the peak near the list's own size (the
	// targets-file benchmark in the README), at a cost in CPU that the
	// network-bound rest of the run does not notice. It is the process's
	// setting, so it is set here, not in command.Run, which tests call.
	debug.SetGCPercent(50)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	wd, _ := os.Getwd() // only used to resolve targets-file outside Actions
	code := command.Run(ctx, command.Env{
		Args: os.Args[1:], Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr,
		WorkDir: wd, ActionYML: actionYML, Version: version,
	})
	stop()
	os.Exit(code)
}
