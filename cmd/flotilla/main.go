package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/flotilla-dev/flotilla/internal/gctune"
	"github.com/flotilla-dev/flotilla/internal/nodefaulthttp"
	"github.com/flotilla-dev/flotilla/internal/nogit"
)

func main() {
	gctune.Apply()
	nodefaulthttp.Disable()
	if err := nogit.Disable(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, stopped := contextUntilSignal()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if sig := stopped(); sig != 0 && code != 0 {
		code = 128 + int(sig) // as a shell reports a command ended by the signal
	}
	os.Exit(code)
}

// contextUntilSignal returns a context that ends at the first SIGINT or SIGTERM, and a
// function that says which signal ended it (0 for none). A second signal exits at once.
func contextUntilSignal() (context.Context, func() syscall.Signal) {
	ctx, cancel := context.WithCancelCause(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	received := make(chan syscall.Signal, 1)
	go func() {
		sig := (<-signals).(syscall.Signal)
		received <- sig
		cancel(fmt.Errorf("%v received", sig))
		sig = (<-signals).(syscall.Signal)
		fmt.Fprintf(os.Stderr, "%v received again: exiting now\n", sig)
		os.Exit(128 + int(sig))
	}()
	return ctx, func() syscall.Signal {
		select {
		case sig := <-received:
			return sig
		default:
			return 0
		}
	}
}
