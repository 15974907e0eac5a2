package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise it comes from the
// module's build information.
var version string

// exitError carries a specific exit code out of a command, like `diff` does with 1 for
// "differences found". Its message, if any, has been printed already.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit code %d", e.code) }

// globals are the flags every command shares, and its output streams.
type globals struct {
	verbosity int
	output    string
	stdout    io.Writer
	stderr    io.Writer
	logger    *slog.Logger
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	root := newRootCommand(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	var exit exitError
	if errors.As(err, &exit) {
		return exit.code
	}
	fmt.Fprintf(stderr, "error: %v\n", err)
	var coded codedError
	if errors.As(err, &coded) {
		return coded.code
	}
	if code, err := strconv.Atoi(cmd.Annotations[errorExitCode]); err == nil {
		return code
	}
	return 1
}

// errorExitCode is the annotation of a command whose errors (a bad flag, say) exit with another
// code than 1, which means something else for it: 2 for diff, whose 1 says "differences".
const errorExitCode = "flotilla.dev/error-exit-code"

// codedError is an error that exits with a specific code once printed.
type codedError struct {
	error
	code int
}

func (e codedError) Unwrap() error { return e.error }

func withExitCode(err error, code int) error { return codedError{error: err, code: code} }

func newRootCommand(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "flotilla",
		Short: "Keep a fleet of Kubernetes clusters in the state that Git describes",
		Long: `Flotilla is a multi-cluster GitOps reconciler. It pulls Git repositories, renders
kustomizations of workloads and Istio mesh policy for each cluster, and syncs them with
server-side apply: only what changed, pruning only what it created.

Try it:
  flotilla quickstart                         three local clusters with the example app synced
  flotilla diff --config FILE                 how the clusters differ from Git
  flotilla sync --config FILE                 make them match
  flotilla history                            what changed where, from which commit, by whom
  flotilla rollback --app A --all --steps 1   put an App back on the revision before
  flotilla render examples/overlays/dev       render a kustomization as Flotilla applies it
  flotilla lint examples/                     check the Istio policy of each overlay, offline
  flotilla fleet down                         stop the local clusters`,
		Version:       buildVersion(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(cmd, g); err != nil {
				return err
			}
			g.logger = newLogger(g.stderr, g.verbosity)
			// Libraries that print through the standard logger (kustomize's deprecation warnings)
			// go through the same handler.
			log.SetFlags(0)
			log.SetOutput(logBridge{g.logger})
			return nil
		},
	}
	root.SetVersionTemplate("flotilla {{.Version}}\n")
	root.PersistentFlags().IntVarP(&g.verbosity, "verbosity", "v", 0, "log detail: 0 warnings and errors, 1 info, 2 debug")
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "table", "output format of commands that print data: table, json or yaml (render: yaml or json)")
	root.AddCommand(newQuickstartCommand(g), newSyncCommand(g), newDiffCommand(g), newAgentCommand(g), newStatusCommand(g), newRollbackCommand(g), newUnpinCommand(g), newHistoryCommand(g), newAuditCommand(g), newWindowsCommand(g), newRolloutCommand(g), newRenderCommand(g), newLintCommand(g), newSourcesCommand(g), newFleetCommand(g))
	return root
}

func newLogger(w io.Writer, verbosity int) *slog.Logger {
	level := slog.LevelWarn
	switch {
	case verbosity >= 2:
		level = slog.LevelDebug
	case verbosity == 1:
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// logBridge turns standard-library log lines into warnings of the command's logger.
type logBridge struct{ logger *slog.Logger }

func (b logBridge) Write(p []byte) (int, error) {
	b.logger.Warn(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(p)), "# Warning:")))
	return len(p), nil
}

func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = nil
	}
	return versionText(version, info)
}

// versionText is what --version prints after "flotilla": the version set with -ldflags, else the
// module's, then the commit, whether it had uncommitted changes and its time, and the Go version
// (from runtime/debug.ReadBuildInfo, which holds what `go build` stamped). A binary built
// without VCS information (`go run`, or GOFLAGS=-buildvcs=false) says so, and how to get it.
func versionText(ldVersion string, info *debug.BuildInfo) string {
	if info == nil {
		if ldVersion != "" {
			return ldVersion
		}
		return "(unknown: built without module information; use make build)"
	}
	v := ldVersion
	if v == "" {
		v = info.Main.Version
	}
	vcs := map[string]string{}
	for _, s := range info.Settings {
		vcs[s.Key] = s.Value
	}
	revision := vcs["vcs.revision"]
	if revision == "" {
		if v == "" || v == "(devel)" {
			return "(devel, built without VCS information; use make build)"
		}
		return fmt.Sprintf("%s (%s)", v, info.GoVersion)
	}
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	details := []string{"commit " + shortRevision(revision)}
	if vcs["vcs.modified"] == "true" {
		details = append(details, "with uncommitted changes")
	}
	if t := vcs["vcs.time"]; t != "" {
		details = append(details, "committed "+t)
	}
	details = append(details, info.GoVersion)
	return fmt.Sprintf("%s (%s)", v, strings.Join(details, ", "))
}

// shortRevision is a commit's first 12 hex digits.
func shortRevision(revision string) string {
	if len(revision) > 12 {
		return revision[:12]
	}
	return revision
}
