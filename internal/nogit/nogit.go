// Package nogit keeps the git command from reaching the network for the whole process.
// Kustomize clones remote bases by running git (its loader's cloner is fixed, and cannot be
// replaced through its public API). Flotilla checks every kustomization before kustomize runs,
// so that kustomize is never handed a remote base, and fetches what a Source allows itself,
// with go-git, which does not run git and does not read git's environment; this is the second
// line: if a remote base ever got through, the git that kustomize runs refuses every transport
// (http, https, ssh, git, file, ext) before it connects to anything.
package nogit

import (
	"fmt"
	"os"
	"strings"
	"sync"
)

// vars are the environment that makes git refuse every transport: an empty allow-list of
// protocols, nothing allowed from user input, and no prompt for credentials.
var vars = [][2]string{
	{"GIT_ALLOW_PROTOCOL", ""},
	{"GIT_PROTOCOL_FROM_USER", "0"},
	{"GIT_TERMINAL_PROMPT", "0"},
}

// before holds the values that the first Disable replaced, for Environ.
var (
	before     []string
	beforeOnce sync.Once
)

// Disable sets the environment in which every git command this process runs (without an
// environment of its own) refuses every transport. Call it once, at the start of main, before
// anything runs git. Flotilla's own git commands start from Environ.
func Disable() error {
	beforeOnce.Do(func() {
		for _, v := range vars {
			if old, ok := os.LookupEnv(v[0]); ok {
				before = append(before, v[0]+"="+old)
			}
		}
	})
	for _, v := range vars {
		if err := os.Setenv(v[0], v[1]); err != nil {
			return fmt.Errorf("nogit: %w", err)
		}
	}
	return nil
}

// Environ returns the process's environment as it was before Disable, for a git command of
// Flotilla's own that is meant to reach a repository (the quickstart's push).
func Environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !isOurs(kv) {
			out = append(out, kv)
		}
	}
	return append(out, before...)
}

func isOurs(kv string) bool {
	for _, v := range vars {
		if strings.HasPrefix(kv, v[0]+"=") {
			return true
		}
	}
	return false
}
