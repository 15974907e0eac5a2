package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/reconciler"
)

// rolloutVerbs are the subcommands of `flotilla rollout` and what each does.
var rolloutVerbs = []struct{ verb, short, long string }{
	{"status", "Show where an App's rollout in waves stands", "Show the App's rollout: the commit it rolls out, each wave with its clusters and what each runs, the wave under way and its bake, a halt or an abort."},
	{"promote", "Skip the rest of the current wave's bake", "Let the next wave go now: the current wave's bake (spec.rollout.waves[].bakeTime) is skipped. Recorded in the ledger with who asked."},
	{"abort", "Stop an App's rollout where it is", "Stop the rollout: clusters that run the new commit keep it, no other cluster goes to it until flotilla rollout resume or a newer commit. Recorded in the ledger with who asked."},
	{"resume", "Go on with a halted or aborted rollout", "Go on with the rollout where it halted or was aborted: the clusters a failed health check rolled back try the commit again. Recorded in the ledger with who asked."},
}

func newRolloutCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollout",
		Short: "Follow and steer an App's rollout in waves (spec.rollout.waves)",
		Long: `An App with spec.rollout.waves gets each new commit wave by wave: a wave's clusters go to the
commit (maxParallel at a time), must all run it healthy for the wave's bakeTime, then the next
wave goes; clusters no wave selects go last. A cluster that fails health halts the rollout: it
is rolled back, later waves keep the revision they run. A newer commit starts over from the
first wave. These commands ask the running agent, which keeps the rollout's state in its
ledger (promote, abort and resume need the operator role).`,
	}
	for _, v := range rolloutVerbs {
		cmd.AddCommand(newRolloutVerbCommand(g, v.verb, v.short, v.long))
	}
	return cmd
}

func newRolloutVerbCommand(g *globals, verb, short, long string) *cobra.Command {
	var client clientFlags
	cmd := &cobra.Command{
		Use:     verb + " APP",
		Short:   short,
		Long:    long,
		Example: fmt.Sprintf("  flotilla rollout %s bookinfo\n  flotilla rollout %s bookinfo --server https://agent.example:7070 --token-file ops.token", verb, verb),
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client.agent(cmd.Context(), false)
			if err != nil {
				return err
			}
			if c == nil {
				return fmt.Errorf("flotilla rollout %s asks the running agent, which keeps the rollout: %w", verb, errNoAgent)
			}
			path := "/api/v1/apps/" + url.PathEscape(args[0]) + "/rollout"
			method := http.MethodGet
			if verb != "status" {
				path, method = path+"/"+verb, http.MethodPost
			}
			var st reconciler.RolloutStatus
			if err := c.do(cmd.Context(), method, path, nil, &st); err != nil {
				return err
			}
			return printData(g, st, func(w io.Writer) { printRollout(w, st) })
		},
	}
	client.register(cmd)
	return cmd
}

// printRollout prints where a rollout stands, then a table of its waves.
func printRollout(w io.Writer, st reconciler.RolloutStatus) {
	fmt.Fprintf(w, "App/%s rolls out %s: %s\n", st.App, short(st.State.Target), st.Reason)
	t := newTable(w)
	fmt.Fprintln(t, "WAVE\tCLUSTER\tRUNS\tHEALTH\tBAKE\tMAX PARALLEL")
	for i, wave := range st.Waves {
		marker := ""
		if i == st.State.Wave && !st.Done {
			marker = " (current)"
		}
		bake, parallel := wave.BakeTime.String(), "all"
		if wave.BakeTime == 0 {
			bake = "-"
		}
		if wave.MaxParallel > 0 {
			parallel = fmt.Sprint(wave.MaxParallel)
		}
		for _, c := range wave.Clusters {
			fact := st.Clusters[c]
			health := fact.Health
			if health == "" {
				health = "-"
			}
			fmt.Fprintf(t, "%s%s\t%s\t%s\t%s\t%s\t%s\n", wave.Name, marker, c, short(fact.Revision), health, bake, parallel)
		}
	}
	t.Flush()
	var notes []string
	if st.State.Halted != "" {
		notes = append(notes, "halted: "+st.State.Halted+" (flotilla rollout resume "+st.App+" tries again)")
	}
	if st.State.Aborted {
		notes = append(notes, "aborted (flotilla rollout resume "+st.App+" goes on)")
	}
	if len(notes) > 0 {
		fmt.Fprintln(w, strings.Join(notes, "\n"))
	}
}
