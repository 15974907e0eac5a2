package statedir

import (
	"path/filepath"
	"testing"
)

func TestPath(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/x/state")
	if got, err := Path("agent"); err != nil || got != "/x/state/flotilla/agent" {
		t.Errorf("with XDG_STATE_HOME: %q, %v", got, err)
	}
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/you")
	if got, err := Path("fleet"); err != nil || got != filepath.Join("/home/you", ".local", "state", "flotilla", "fleet") {
		t.Errorf("without XDG_STATE_HOME: %q, %v", got, err)
	}
}
