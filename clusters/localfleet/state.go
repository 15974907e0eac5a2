package localfleet

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Files in a fleet folder. The marker is what allows Flotilla to reuse or delete a folder: a
// folder without it is never emptied, whatever --dir says.
const (
	markerFile     = ".flotilla-fleet"
	lockFileName   = "fleet.lock"
	stateFileName  = "fleet.json"
	kubeconfigName = "kubeconfig"
)

// ErrFleetRunning is returned when a fleet already runs in the requested folder.
var ErrFleetRunning = errors.New("a fleet is already running in this folder")

// ErrNoFleet is returned by Down and ReadStatus when the folder holds no fleet.
var ErrNoFleet = errors.New("no fleet in this folder")

// state is fleet.json: everything another process needs to report on, stop or resume the
// fleet.
type state struct {
	Name        string         `json:"name"`
	Dir         string         `json:"dir"`
	Kubeconfig  string         `json:"kubeconfig"`
	CreatedAt   time.Time      `json:"createdAt"`
	Istio       bool           `json:"istio"`
	Holder      Process        `json:"holder"`
	Etcd        Process        `json:"etcd"`
	EtcdURL     string         `json:"etcdURL,omitempty"`
	EtcdPeerURL string         `json:"etcdPeerURL,omitempty"`
	Clusters    []clusterState `json:"clusters"`
	Services    []serviceState `json:"services,omitempty"`
}

// serviceState is something the holder serves beside the fleet; see Service.
type serviceState struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

type clusterState struct {
	Name       string    `json:"name"`
	Server     string    `json:"server"`
	Kubeconfig string    `json:"kubeconfig"`
	Processes  []Process `json:"processes"`
}

func (s *state) processes() []Process {
	ps := []Process{s.Etcd}
	for _, c := range s.Clusters {
		ps = append(ps, c.Processes...)
	}
	return ps
}

func readState(dir string) (*state, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFileName))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, fmt.Errorf("%s: %w", dir, ErrNoFleet)
	}
	if err != nil {
		return nil, fmt.Errorf("read fleet state: %w", err)
	}
	var s state
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, stateFileName), err)
	}
	return &s, nil
}

func writeState(dir string, s *state) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode fleet state: %w", err)
	}
	tmp := filepath.Join(dir, stateFileName+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write fleet state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, stateFileName)); err != nil {
		return fmt.Errorf("write fleet state: %w", err)
	}
	return nil
}

// ClaimDir makes dir a fleet folder: it creates it if needed, checks that it is writable and
// either empty or a fleet folder already, and writes the marker. It changes nothing in a
// folder that it refuses.
func ClaimDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("fleet folder %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", fmt.Errorf("fleet folder %s cannot be created: %w; choose a writable --dir", abs, err)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return "", fmt.Errorf("fleet folder %s cannot be read: %w; choose a writable --dir", abs, err)
	}
	if len(entries) > 0 && !isFleetDir(abs) {
		return "", fmt.Errorf("fleet folder %s is not empty and holds no fleet; choose an empty or new --dir", abs)
	}
	probe, err := os.CreateTemp(abs, ".write-probe-")
	if err != nil {
		return "", fmt.Errorf("fleet folder %s is not writable: %w; choose a writable --dir", abs, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	if err := os.WriteFile(filepath.Join(abs, markerFile), []byte("Flotilla local fleet; `flotilla fleet down --dir` removes this folder\n"), 0o644); err != nil {
		return "", fmt.Errorf("fleet folder %s: %w", abs, err)
	}
	return abs, nil
}

func isFleetDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, markerFile))
	return err == nil
}

// fleetArtifacts are what a started fleet writes into its folder.
var fleetArtifacts = []string{stateFileName, stateFileName + ".tmp", kubeconfigName, "pki", "etcd", "etcd.log", "clusters"}

// clearDir removes a stopped fleet's files; other files (the folder's marker and lock, a
// supervisor's log) stay.
func clearDir(dir string) error {
	if !isFleetDir(dir) {
		return fmt.Errorf("refusing to clear %s: it holds no %s marker", dir, markerFile)
	}
	for _, name := range fleetArtifacts {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("clear fleet folder: %w", err)
		}
	}
	return nil
}

// removeDir deletes a fleet folder, only if it carries the marker.
func removeDir(dir string) error {
	if !isFleetDir(dir) {
		return fmt.Errorf("refusing to remove %s: it holds no %s marker", dir, markerFile)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove fleet folder: %w", err)
	}
	return nil
}
