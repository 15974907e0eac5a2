package localfleet

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Pinned versions of what a local cluster runs. toolchain/go.mod.txt pins the same versions;
// TestToolchainPinsVersions keeps the two in step.
const (
	KubernetesVersion = "v1.36.3"
	EtcdVersion       = "v3.6.8"
	KwokVersion       = "v0.8.0"
	IstioAPIVersion   = "v1.31.1"
)

//go:embed toolchain/go.mod.txt toolchain/go.sum.txt toolchain/tools.go.txt
var toolchainFiles embed.FS

// Binaries are the built cluster programs and the data files that go with them, all inside Dir.
type Binaries struct {
	Dir               string `json:"dir"`
	Etcd              string `json:"etcd"`
	APIServer         string `json:"kubeAPIServer"`
	ControllerManager string `json:"kubeControllerManager"`
	Scheduler         string `json:"kubeScheduler"`
	Kwok              string `json:"kwok"`
	// KwokStages is the rendered kustomize/stage/fast configuration of the kwok module.
	KwokStages string `json:"kwokStages"`
	// IstioCRDs is istio.io/api's kubernetes/customresourcedefinitions.gen.yaml.
	IstioCRDs string `json:"istioCRDs"`
}

// BuildOptions tune EnsureBinaries.
type BuildOptions struct {
	// CacheDir holds built binaries, one folder per toolchain version. Empty means
	// $FLOTILLA_CACHE_DIR, else the user's cache directory + /flotilla/localfleet.
	CacheDir string
	// Progress receives human-readable progress lines; nil discards them.
	Progress io.Writer
}

// DefaultBuildOptions returns options that cache under the user's cache directory and report nothing.
func DefaultBuildOptions() BuildOptions { return BuildOptions{} }

// mainPackages maps each binary name to the main package it is built from.
var mainPackages = []struct{ binary, pkg string }{
	{"kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver"},
	{"kube-controller-manager", "k8s.io/kubernetes/cmd/kube-controller-manager"},
	{"kube-scheduler", "k8s.io/kubernetes/cmd/kube-scheduler"},
	{"kwok", "sigs.k8s.io/kwok/cmd/kwok"},
	{"etcd", "go.etcd.io/etcd/server/v3"},
}

// EnsureBinaries returns the cluster binaries, building them first if this toolchain version is
// not cached yet. Concurrent callers, in this process or others, build once: the others wait on a
// file lock. A cold build takes several minutes and reports progress to opts.Progress.
func EnsureBinaries(ctx context.Context, opts BuildOptions) (*Binaries, error) {
	root, err := cacheRoot(opts.CacheDir)
	if err != nil {
		return nil, err
	}
	key, err := toolchainKey()
	if err != nil {
		return nil, err
	}
	out := progressWriter(opts.Progress)
	dir := filepath.Join(root, key)
	bins := binariesIn(dir)
	if isComplete(dir) {
		return bins, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("create binary cache %s: %w", root, err)
	}
	lock, err := lockFile(ctx, filepath.Join(root, key+".lock"), func() {
		fmt.Fprintf(out, "waiting for another process that is building the cluster binaries into %s\n", dir)
	})
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	if isComplete(dir) { // built by whoever held the lock before us
		return bins, nil
	}
	if err := build(ctx, root, key, dir, out); err != nil {
		return nil, err
	}
	return bins, nil
}

func binariesIn(dir string) *Binaries {
	bin := filepath.Join(dir, "bin")
	return &Binaries{
		Dir:               dir,
		Etcd:              filepath.Join(bin, "etcd"),
		APIServer:         filepath.Join(bin, "kube-apiserver"),
		ControllerManager: filepath.Join(bin, "kube-controller-manager"),
		Scheduler:         filepath.Join(bin, "kube-scheduler"),
		Kwok:              filepath.Join(bin, "kwok"),
		KwokStages:        filepath.Join(dir, "kwok-stages.yaml"),
		IstioCRDs:         filepath.Join(dir, "istio-crds.yaml"),
	}
}

func isComplete(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "complete"))
	return err == nil
}

func cacheRoot(configured string) (string, error) {
	if configured != "" {
		return filepath.Abs(configured)
	}
	if env := os.Getenv("FLOTILLA_CACHE_DIR"); env != "" {
		return filepath.Abs(env)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the user's cache directory (set FLOTILLA_CACHE_DIR): %w", err)
	}
	return filepath.Join(base, "flotilla", "localfleet"), nil
}

// toolchainKey names a cache folder after the pinned versions plus a hash of everything that
// changes the build output.
func toolchainKey() (string, error) {
	h := sha256.New()
	for _, name := range []string{"go.mod.txt", "go.sum.txt", "tools.go.txt"} {
		b, err := toolchainFiles.ReadFile("toolchain/" + name)
		if err != nil {
			return "", fmt.Errorf("read embedded toolchain file %s: %w", name, err)
		}
		h.Write(b)
	}
	fmt.Fprintf(h, "%s/%s %s", runtime.GOOS, runtime.GOARCH, ldflags())
	return fmt.Sprintf("k8s-%s-etcd-%s-kwok-%s-%s", KubernetesVersion, EtcdVersion, KwokVersion,
		hex.EncodeToString(h.Sum(nil))[:12]), nil
}

func ldflags() string {
	major, minor, _ := strings.Cut(strings.TrimPrefix(KubernetesVersion, "v"), ".")
	minor, _, _ = strings.Cut(minor, ".")
	return strings.Join([]string{
		"-s", "-w",
		"-X", "k8s.io/component-base/version.gitVersion=" + KubernetesVersion,
		"-X", "k8s.io/component-base/version.gitMajor=" + major,
		"-X", "k8s.io/component-base/version.gitMinor=" + minor,
		"-X", "k8s.io/component-base/version.gitTreeState=clean",
	}, " ")
}

// build writes the helper module into root/src-KEY, builds every binary into a temporary
// folder and renames it to dir once everything is in place.
func build(ctx context.Context, root, key, dir string, out io.Writer) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("building the cluster binaries needs the Go toolchain (go 1.26 or later) on PATH: %w", err)
	}
	src := filepath.Join(root, "src-"+key)
	if err := writeToolchainModule(src); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(root, key+".tmp-")
	if err != nil {
		return fmt.Errorf("create build folder: %w", err)
	}
	defer os.RemoveAll(tmp)

	started := time.Now()
	fmt.Fprintf(out, "building cluster binaries (Kubernetes %s, etcd %s, kwok %s) into %s; the first build takes several minutes\n",
		KubernetesVersion, EtcdVersion, KwokVersion, dir)
	gocmd := goCommand{bin: goBin, dir: src}
	fmt.Fprintf(out, "  downloading modules\n")
	if _, err := gocmd.output(ctx, "mod", "download"); err != nil {
		return err
	}
	pkgs := make([]string, 0, len(mainPackages))
	for _, mp := range mainPackages {
		pkgs = append(pkgs, mp.pkg)
	}
	total, err := gocmd.countDeps(ctx, pkgs)
	if err != nil {
		return err
	}
	binDir := filepath.Join(tmp, "bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", binDir, err)
	}
	progress := buildProgress{total: total, started: started, out: out, lastReport: time.Now()}
	for _, mp := range mainPackages {
		args := []string{"build", "-v", "-ldflags", ldflags(), "-o", filepath.Join(binDir, mp.binary), mp.pkg}
		if err := gocmd.buildWithProgress(ctx, args, mp.binary, &progress); err != nil {
			return err
		}
	}
	if err := gocmd.copyIstioCRDs(ctx, filepath.Join(tmp, "istio-crds.yaml")); err != nil {
		return err
	}
	if err := gocmd.renderKwokStages(ctx, filepath.Join(tmp, "kwok-stages.yaml")); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "complete"), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return fmt.Errorf("mark build complete: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil { // a partial folder from an older layout
		return fmt.Errorf("remove stale %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("move built binaries into %s: %w", dir, err)
	}
	fmt.Fprintf(out, "built cluster binaries in %s\n", time.Since(started).Round(time.Second))
	return nil
}

func writeToolchainModule(src string) error {
	if err := os.MkdirAll(src, 0o755); err != nil {
		return fmt.Errorf("create toolchain module folder: %w", err)
	}
	for embedded, name := range map[string]string{"go.mod.txt": "go.mod", "go.sum.txt": "go.sum", "tools.go.txt": "tools.go"} {
		b, err := toolchainFiles.ReadFile("toolchain/" + embedded)
		if err != nil {
			return fmt.Errorf("read embedded %s: %w", embedded, err)
		}
		if err := os.WriteFile(filepath.Join(src, name), b, 0o644); err != nil {
			return fmt.Errorf("write toolchain module: %w", err)
		}
	}
	return nil
}

// goCommand runs the go tool inside the toolchain module, isolated from the caller's
// workspace and flags.
type goCommand struct {
	bin string
	dir string
}

func (g goCommand) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, g.bin, args...)
	cmd.Dir = g.dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "CGO_ENABLED=0", "GO111MODULE=on", "GOTOOLCHAIN=local")
	return cmd
}

func (g goCommand) output(ctx context.Context, args ...string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := g.command(ctx, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, tail(stderr.Bytes(), 20))
	}
	return out, nil
}

// countDeps returns how many non-standard packages the binaries need, for progress.
func (g goCommand) countDeps(ctx context.Context, pkgs []string) (int, error) {
	args := append([]string{"list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}"}, pkgs...)
	out, err := g.output(ctx, args...)
	if err != nil {
		return 0, err
	}
	return bytes.Count(out, []byte("\n")), nil
}

// buildProgress counts compiled packages across all the binaries' builds.
type buildProgress struct {
	compiled, total int
	started         time.Time
	lastReport      time.Time
	out             io.Writer
}

// buildWithProgress runs `go build -v` and turns the package names it prints into a count.
// Packages already in the Go build cache are not printed, so the count may finish short.
func (g goCommand) buildWithProgress(ctx context.Context, args []string, binary string, progress *buildProgress) error {
	cmd := g.command(ctx, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return fmt.Errorf("build %s: %w", binary, err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("build %s: %w", binary, err)
	}
	var lastLines []string
	scanner := bufio.NewScanner(stderr)
	for scanner.Scan() {
		line := scanner.Text()
		if strings.Contains(line, " ") || strings.HasPrefix(line, "#") { // compiler output, not a package name
			lastLines = append(lastLines, line)
			continue
		}
		progress.compiled++
		if time.Since(progress.lastReport) >= 10*time.Second {
			fmt.Fprintf(progress.out, "  %s: %d of about %d packages compiled, %s elapsed\n",
				binary, progress.compiled, progress.total, time.Since(progress.started).Round(time.Second))
			progress.lastReport = time.Now()
		}
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("build %s: %w\n%s", binary, err, strings.Join(lastTail(lastLines, 20), "\n"))
	}
	fmt.Fprintf(progress.out, "  built %s (%s elapsed)\n", binary, time.Since(progress.started).Round(time.Second))
	return nil
}

// moduleDir downloads a module of the toolchain build list and returns its folder in the
// module cache.
func (g goCommand) moduleDir(ctx context.Context, module string) (string, error) {
	out, err := g.output(ctx, "mod", "download", "-json", module)
	if err != nil {
		return "", err
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", fmt.Errorf("go mod download %s: %w", module, err)
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %s", module, info.Error)
	}
	return info.Dir, nil
}

func (g goCommand) copyIstioCRDs(ctx context.Context, dst string) error {
	dir, err := g.moduleDir(ctx, "istio.io/api")
	if err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(dir, "kubernetes", "customresourcedefinitions.gen.yaml"))
	if err != nil {
		return fmt.Errorf("read Istio CRDs from istio.io/api: %w", err)
	}
	return writeFile(dst, b)
}

func (g goCommand) renderKwokStages(ctx context.Context, dst string) error {
	dir, err := g.moduleDir(ctx, "sigs.k8s.io/kwok")
	if err != nil {
		return err
	}
	docs, err := kustomizationResources(filepath.Join(dir, "kustomize", "stage", "fast"), 0)
	if err != nil {
		return fmt.Errorf("render kwok stages: %w", err)
	}
	return writeFile(dst, bytes.Join(docs, []byte("\n---\n")))
}

func writeFile(path string, b []byte) error {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func progressWriter(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// tail returns the last n lines of b.
func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lastTail(lines, n), "\n")
}

func lastTail(lines []string, n int) []string {
	if len(lines) > n {
		return lines[len(lines)-n:]
	}
	return lines
}
