package localfleet

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"
)

// A supervisor takes requests on a Unix socket in the fleet's folder, so that `flotilla fleet
// up` can have it restart the parts of its fleet that stopped: the restarted processes must be
// the supervisor's children, to die with it. A request is one JSON line; the answer is the same
// events as on the start pipe (progress lines, then ready or an error). Only the folder's owner
// may connect (the socket is mode 0600).

// controlSocketName is the supervisor's socket, in the fleet's folder.
const controlSocketName = "supervisor.sock"

// maxSocketPath is the longest path a Unix socket address holds (sun_path less its NUL).
const maxSocketPath = 107

// controlRequest is one request to a supervisor.
type controlRequest struct {
	// Op is "restart": restart what stopped (Fleet.RestartStopped).
	Op string `json:"op"`
}

// withSocketPath calls fn with a path to the socket in dir that fits a Unix socket address: the
// path itself, or for a deep folder the same file reached through /proc/self/fd.
func withSocketPath(dir string, fn func(path string) error) error {
	path := filepath.Join(dir, controlSocketName)
	if len(path) <= maxSocketPath {
		return fn(path)
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return fn(fmt.Sprintf("/proc/self/fd/%d/%s", d.Fd(), controlSocketName))
}

// listenControl listens on the fleet's socket, replacing one that a dead holder left.
func listenControl(dir string) (*net.UnixListener, error) {
	path := filepath.Join(dir, controlSocketName)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("listen for restart requests: %w", err)
	}
	var ln *net.UnixListener
	err := withSocketPath(dir, func(addr string) error {
		var err error
		ln, err = net.ListenUnix("unix", &net.UnixAddr{Name: addr, Net: "unix"})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listen for restart requests: %w", err)
	}
	ln.SetUnlinkOnClose(false) // its name may be a /proc/self/fd path: closeControl removes it
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("listen for restart requests: %w", err)
	}
	return ln, nil
}

// closeControl stops taking requests and removes the socket.
func closeControl(dir string, ln *net.UnixListener) {
	_ = ln.Close()
	_ = os.Remove(filepath.Join(dir, controlSocketName))
}

// serveControl answers requests on ln, one at a time, until ln is closed.
func serveControl(ctx context.Context, ln net.Listener, f *Fleet, log io.Writer) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		handleControl(ctx, conn, f, log)
	}
}

func handleControl(ctx context.Context, conn net.Conn, f *Fleet, log io.Writer) {
	defer conn.Close()
	enc := json.NewEncoder(conn)
	send := func(ev supervisorEvent) { _ = enc.Encode(ev) } // a client that left misses the rest
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var req controlRequest
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &req)
	}
	if err != nil || req.Op != "restart" {
		send(supervisorEvent{Error: fmt.Sprintf("the fleet supervisor takes one request, {\"op\":\"restart\"}; got %q (%v)", line, err)})
		return
	}
	fmt.Fprintln(log, "restart of stopped parts requested")
	progress := lineWriter(func(line string) {
		fmt.Fprintln(log, line)
		send(supervisorEvent{Progress: line})
	})
	restarted, err := f.RestartStopped(ctx, progress)
	if err != nil {
		fmt.Fprintf(log, "restart failed: %v\n", err)
		send(supervisorEvent{Error: err.Error()})
		return
	}
	fmt.Fprintf(log, "restarted %v; the fleet is ready\n", restarted)
	send(supervisorEvent{Ready: true, Restarted: restarted})
}

// RestartSupervised asks the supervisor that holds the fleet in dir (see StartSupervised) to
// restart the parts of the fleet that stopped (see Fleet.RestartStopped), passing its progress
// lines on, and returns the parts it restarted once every cluster is ready.
func RestartSupervised(ctx context.Context, dir string, progress io.Writer) ([]string, error) {
	progress = progressWriter(progress)
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	var conn net.Conn
	err = withSocketPath(abs, func(addr string) error {
		var err error
		conn, err = (&net.Dialer{}).DialContext(ctx, "unix", addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("ask the supervisor of the fleet in %s to restart what stopped: %w; it may still be starting the fleet (try again once it is ready), or be one of an older flotilla, which takes no requests (stop it with `flotilla fleet down --dir %s`)", abs, err, abs)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := json.NewEncoder(conn).Encode(controlRequest{Op: "restart"}); err != nil {
		return nil, fmt.Errorf("ask the fleet supervisor to restart what stopped: %w", err)
	}
	scanner := bufio.NewScanner(conn)
	scanner.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for scanner.Scan() {
		var ev supervisorEvent
		if err := json.Unmarshal(scanner.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("the fleet supervisor answered %q: %w", scanner.Text(), err)
		}
		switch {
		case ev.Error != "":
			return nil, errors.New(ev.Error)
		case ev.Ready:
			return ev.Restarted, nil
		default:
			fmt.Fprintln(progress, ev.Progress)
		}
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("interrupted; the fleet supervisor goes on restarting what stopped: %w", ctx.Err())
	}
	log := filepath.Join(abs, SupervisorLog)
	return nil, fmt.Errorf("the fleet supervisor ended the restart without an answer; last lines of %s:\n%s", log, LogTail(log, 15))
}
