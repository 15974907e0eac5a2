// Package statedir finds where Flotilla keeps state for the user: under $XDG_STATE_HOME, else
// ~/.local/state, in a flotilla folder (the local fleet, the agent's tokens and endpoint).
package statedir

import (
	"fmt"
	"os"
	"path/filepath"
)

// Path is flotilla/NAME under the user's state directory.
func Path(name string) (string, error) {
	if base := os.Getenv("XDG_STATE_HOME"); base != "" {
		return filepath.Join(base, "flotilla", name), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the home directory for the state folder flotilla/%s: %w", name, err)
	}
	return filepath.Join(home, ".local", "state", "flotilla", name), nil
}
