// Package localfleet starts real Kubernetes clusters on 127.0.0.1 for tests and for
// `flotilla fleet up` / `flotilla quickstart`.
//
// A fleet is one etcd plus, per cluster, a kube-apiserver (its own etcd prefix),
// kube-controller-manager, kube-scheduler and kwok with one fake Node, so Deployments really
// become Available, or really fail. The Istio CRDs are installed by default.
//
// The binaries are built once from the Go module proxy, from a helper module embedded in this
// package (see toolchain/README.md), and cached under the user's cache directory keyed by
// version; EnsureBinaries does that and file-locks so that concurrent callers build once.
//
// Every process runs in its own process group and is killed by the kernel when the process that
// started the fleet dies (PR_SET_PDEATHSIG from a pinned thread), so no cluster outlives its
// fleet: not after a failed test, a panic, a SIGINT or a SIGKILL. The fleet's folder holds
// fleet.json, certificates, etcd's data, a kubeconfig with one context per cluster and one log
// per process; ReadStatus (processes, etcd /health, each API server's /readyz, the services
// beside the fleet) and Down work on it from any process.
//
// A fleet comes back from what stops: Fleet.RestartStopped starts again the processes that
// exited, and API servers that are shutting down, on their old ports with their data; Start
// with Options.Resume starts a fleet whose holder died from its folder. `flotilla fleet up`
// runs the fleet in a supervisor (Supervise, StartSupervised), which restarts what stopped when
// RestartSupervised asks over a Unix socket in the folder.
//
// Tests share one fleet per package through the fleettest subpackage.
package localfleet
