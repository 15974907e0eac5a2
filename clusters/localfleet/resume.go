package localfleet

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// A fleet whose holder died (a killed supervisor, a reboot) leaves its state, certificates and
// etcd data in its folder. Start with Options.Resume starts it again from them: the same
// clusters with the same objects, the same CA and admin token (kubeconfigs handed out stay
// valid) and the same ports when they are free.

// resumable returns the state of the fleet in dir that Start can resume, or nil if dir holds
// none or one that never became ready (nothing worth keeping). A fleet of another shape than
// opts asks for is an error.
func resumable(dir string, opts Options) (*state, error) {
	prev, err := readState(dir)
	if errors.Is(err, ErrNoFleet) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(prev.Clusters) == 0 {
		return nil, nil
	}
	if len(prev.Clusters) != opts.Clusters || prev.Name != opts.NamePrefix || prev.Istio != opts.Istio {
		return nil, fmt.Errorf("%s holds a fleet of %d cluster(s) named %s-N (Istio CRDs: %t), not the %d cluster(s) named %s-N (Istio CRDs: %t) asked for; resume it as it is, or remove it with `flotilla fleet down --dir %s`",
			dir, len(prev.Clusters), prev.Name, prev.Istio, opts.Clusters, opts.NamePrefix, opts.Istio, dir)
	}
	for i, c := range prev.Clusters {
		if want := opts.clusterName(i + 1); c.Name != want {
			return nil, fmt.Errorf("%s: cluster %d is named %s, want %s", filepath.Join(dir, stateFileName), i+1, c.Name, want)
		}
	}
	return prev, nil
}

// loadPKI reads the certificates and credentials that newPKI wrote into dir.
func loadPKI(dir string) (*pki, error) {
	p := pkiFiles(dir)
	read := func(path string) ([]byte, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("resume the fleet's certificates: %w", err)
		}
		return b, nil
	}
	var err error
	if p.caPEM, err = read(p.CACert); err != nil {
		return nil, err
	}
	if p.adminCertPEM, err = read(p.AdminCert); err != nil {
		return nil, err
	}
	if p.adminKeyPEM, err = read(p.AdminKey); err != nil {
		return nil, err
	}
	tokens, err := read(p.TokenFile)
	if err != nil {
		return nil, err
	}
	token, _, _ := strings.Cut(string(tokens), ",")
	if token == "" {
		return nil, fmt.Errorf("resume the fleet's certificates: %s holds no token", p.TokenFile)
	}
	p.adminToken = token
	for _, path := range []string{p.ServingCert, p.ServingKey, p.ServiceAccountKey, p.ServiceAccountPub} {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("resume the fleet's certificates: %w", err)
		}
	}
	return p, nil
}
