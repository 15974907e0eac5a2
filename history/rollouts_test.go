package history

import (
	"context"
	"testing"
)

// TestRolloutKeptAndRecorded: a rollout's state is kept per App (and survives reopening the
// ledger), each transition is a rollout change of the App, and the chain still verifies.
func TestRolloutKeptAndRecorded(t *testing.T) {
	ctx := context.Background()
	l, dir := openTest(t)
	if got, err := l.Rollout(ctx, "shop"); got != nil || err != nil {
		t.Fatalf("no rollout yet: %q, %v", got, err)
	}
	started := Change{Revision: Revision{Commit: "abc"}, Actor: Actor{Agent: true}, Result: "Started", Reason: "rollout of abc started"}
	if err := l.SaveRollout(ctx, "shop", []byte(`{"target":"abc"}`), started); err != nil {
		t.Fatal(err)
	}
	if err := l.SaveRollout(ctx, "shop", []byte(`{"target":"abc","wave":1}`)); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got, err := l.Rollout(ctx, "shop"); string(got) != `{"target":"abc","wave":1}` || err != nil {
		t.Errorf("rollout after reopening: %q, %v", got, err)
	}
	changes, err := l.List(ctx, Filter{App: "shop", Trigger: TriggerRollout})
	if err != nil || len(changes) != 1 || changes[0].Cluster != RolloutApp || changes[0].Result != "Started" || changes[0].Reason != "rollout of abc started" {
		t.Fatalf("rollout changes: %+v, %v", changes, err)
	}
	if _, err := l.Verify(ctx); err != nil {
		t.Errorf("verify: %v", err)
	}
}
