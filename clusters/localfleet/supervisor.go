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
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// A fleet that must outlive the command that started it (`flotilla fleet up`) is held by a
// supervisor: a process of its own session that starts the fleet (Supervise), holds it and
// stops it when told (SIGTERM). The supervisor reports progress, readiness or failure as JSON
// lines on a pipe (file descriptor 3). Cluster processes die with the supervisor, and the
// supervisor gives up when the pipe's reader is gone before the fleet is ready, so an
// interrupted start leaves nothing behind.

// SupervisorLog is the supervisor's log, in the fleet's folder.
const SupervisorLog = "supervisor.log"

// supervisorEvent is one line on the pipe from the supervisor to StartSupervised.
type supervisorEvent struct {
	Progress string `json:"progress,omitempty"`
	Ready    bool   `json:"ready,omitempty"`
	Error    string `json:"error,omitempty"`
	// Restarted are the parts a restart request restarted; see Fleet.RestartStopped.
	Restarted []string `json:"restarted,omitempty"`
}

// SupervisedOptions start a fleet held by a supervisor.
type SupervisedOptions struct {
	// Dir is the fleet's folder, absolute; see PrepareDir.
	Dir string
	// Command is the supervisor's command line: a program that calls Supervise with the
	// fleet's options, such as `flotilla fleet supervise --dir DIR …`.
	Command []string
	// Progress receives the supervisor's progress lines; nil discards them.
	Progress io.Writer
}

// StartSupervised starts the supervisor and returns once the fleet is ready; the supervisor
// goes on holding it. When ctx ends first, it stops the supervisor and the fleet with it.
func StartSupervised(ctx context.Context, opts SupervisedOptions) error {
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	sup, events, err := startSupervisor(opts)
	if err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			stopSupervisor(sup)
			return fmt.Errorf("interrupted: stopped the fleet that was starting in %s", opts.Dir)
		case ev, ok := <-events:
			switch {
			case !ok:
				_ = sup.Wait()
				log := filepath.Join(opts.Dir, SupervisorLog)
				return fmt.Errorf("the fleet supervisor exited before the fleet was ready; last lines of %s:\n%s", log, LogTail(log, 15))
			case ev.Error != "":
				_ = sup.Wait()
				return errors.New(ev.Error)
			case ev.Ready:
				return sup.Process.Release()
			default:
				fmt.Fprintln(progress, ev.Progress)
			}
		}
	}
}

// startSupervisor starts the supervisor in its own session and returns the stream of its events.
func startSupervisor(opts SupervisedOptions) (*exec.Cmd, <-chan supervisorEvent, error) {
	if len(opts.Command) == 0 {
		return nil, nil, errors.New("no supervisor command")
	}
	logFile, err := os.OpenFile(filepath.Join(opts.Dir, SupervisorLog), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("create supervisor log: %w", err)
	}
	defer logFile.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("create pipe: %w", err)
	}
	defer pw.Close()
	cmd := exec.Command(opts.Command[0], opts.Command[1:]...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.ExtraFiles = []*os.File{pw}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		pr.Close()
		return nil, nil, fmt.Errorf("start the fleet supervisor: %w", err)
	}
	events := make(chan supervisorEvent)
	go func() {
		defer close(events)
		defer pr.Close()
		scanner := bufio.NewScanner(pr)
		scanner.Buffer(make([]byte, 64*1024), 4*1024*1024)
		for scanner.Scan() {
			var ev supervisorEvent
			if err := json.Unmarshal(scanner.Bytes(), &ev); err != nil {
				ev.Progress = scanner.Text()
			}
			events <- ev
		}
	}()
	return cmd, events, nil
}

// stopSupervisor asks the supervisor to stop the fleet, and kills it if it takes too long; its
// cluster processes die with it either way.
func stopSupervisor(sup *exec.Cmd) {
	_ = sup.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = sup.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = sup.Process.Kill()
		<-done
	}
}

// SuperviseOptions tell a supervisor what to hold.
type SuperviseOptions struct {
	// Fleet is the fleet to start (with Fleet.Resume, to resume); its Progress is ignored
	// (progress goes to the pipe and to the supervisor's log).
	Fleet Options
	// Beside, when set, is started once the fleet is ready and stopped with it: something
	// that should run as long as the fleet does (the quickstart's Git server). `fleet status`
	// lists it.
	Beside func() (Service, error)
}

// Supervise is the supervisor's side: it starts the fleet, reports on the pipe that
// StartSupervised reads (file descriptor 3), holds the fleet until ctx ends and stops it.
// Meanwhile it restarts the fleet's stopped parts when RestartSupervised asks.
func Supervise(ctx context.Context, opts SuperviseOptions) error {
	pipe := os.NewFile(3, "events")
	if pipe == nil {
		return errors.New("a fleet supervisor is started by StartSupervised, with an events pipe on file descriptor 3")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	send := func(ev supervisorEvent) {
		b, _ := json.Marshal(ev)
		if _, err := pipe.Write(append(b, '\n')); err != nil {
			cancel() // the starter is gone before the fleet was ready: give up
		}
	}
	fleetOpts := opts.Fleet
	fleetOpts.Progress = lineWriter(func(line string) {
		fmt.Fprintln(os.Stderr, line)
		send(supervisorEvent{Progress: line})
	})
	fleet, err := Start(ctx, fleetOpts)
	if err != nil {
		send(supervisorEvent{Error: err.Error()})
		return err
	}
	stopBeside, ln, err := holdFleet(fleet, opts.Beside)
	if err != nil {
		send(supervisorEvent{Error: err.Error()})
		return errors.Join(err, fleet.Stop())
	}
	defer stopBeside()
	served := make(chan struct{})
	go func() { defer close(served); serveControl(ctx, ln, fleet, os.Stderr) }()
	send(supervisorEvent{Ready: true})
	pipe.Close()
	fmt.Fprintf(os.Stderr, "fleet ready; holding it until SIGTERM (pid %d)\n", os.Getpid())
	<-ctx.Done()
	closeControl(fleet.Dir, ln)
	<-served // a restart in progress ends with ctx
	fmt.Fprintln(os.Stderr, "stopping the fleet")
	return fleet.Stop()
}

// holdFleet starts what runs beside a ready fleet and listens for restart requests.
func holdFleet(fleet *Fleet, beside func() (Service, error)) (stop func(), ln *net.UnixListener, err error) {
	stop = func() {}
	if beside != nil {
		svc, err := beside()
		if err != nil {
			return nil, nil, err
		}
		if svc.Stop != nil {
			stop = svc.Stop
		}
		if err := fleet.addService(svc); err != nil {
			stop()
			return nil, nil, err
		}
	}
	if ln, err = listenControl(fleet.Dir); err != nil {
		stop()
		return nil, nil, err
	}
	return stop, ln, nil
}

// lineWriter calls fn once per line written to it.
type lineWriter func(line string)

func (fn lineWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		fn(line)
	}
	return len(p), nil
}

// PrepareDir checks a fleet folder before anything starts: it must be usable and must not hold
// a running fleet. A fleet whose holder died stays, for Options.Resume. It returns the folder's
// absolute path.
func PrepareDir(ctx context.Context, dir string) (string, error) {
	abs, err := ClaimDir(dir)
	if err != nil {
		return "", err
	}
	st, err := ReadStatus(ctx, abs)
	switch {
	case errors.Is(err, ErrNoFleet):
		return abs, nil
	case err != nil:
		return "", err
	case st.Running:
		return "", fmt.Errorf("%s: %w (held by pid %d); stop it with `flotilla fleet down --dir %s` or choose another --dir",
			abs, ErrFleetRunning, st.HolderPID, abs)
	}
	return abs, nil
}
