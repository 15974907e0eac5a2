package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/spf13/cobra"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/yaml"

	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/policies"
	"github.com/flotilla-dev/flotilla/sources"
	"github.com/flotilla-dev/flotilla/sources/render"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

type lintFlags struct {
	configFlags
	root string
}

func newLintCommand(g *globals) *cobra.Command {
	var f lintFlags
	cmd := &cobra.Command{
		Use:   "lint [DIR...]",
		Short: "Check the Istio policy of renders with the mesh guardrails, offline",
		Long: `Render kustomizations as flotilla render does and run the mesh guardrails that a sync runs
before it applies anything: VirtualService weights, hosts, subsets and gateways, DestinationRule
subsets that select no pods, conflicting Gateways and missing certificates, STRICT mutual TLS
against DestinationRules that turn TLS off, AuthorizationPolicies that deny everything or name
malformed principals. Findings print as istioctl analyze prints them, with the file that set the
field (an overlay's patch, or the object's own file) and istioctl's code where it has one.

Either local folders: a folder holding a kustomization is rendered as it is; a folder without
one (a fleet repository) is searched for kustomizations that no other one includes (its
overlays), each rendered. Or every App of a configuration on each cluster it selects (--app and
--cluster narrow it), its Source fetched: the renders a sync would make.

No cluster is contacted: a reference that the render does not resolve (a Service, Gateway or
Secret only the cluster may hold) is listed as not checked and is no error; a sync checks it.
Exits 1 if any render has an error (or does not render), 0 with warnings only.`,
		Example: `  flotilla lint examples/
  flotilla lint examples/overlays/prod -o json
  flotilla lint --config ~/.local/state/flotilla/fleet/flotilla.yaml --app bookinfo --cluster prod`,
		Annotations: map[string]string{outputFormats: "table,json"},
		RunE: func(cmd *cobra.Command, args []string) error {
			fromConfig := f.path != "" || f.app != "" || f.cluster != ""
			var targets []lintTarget
			var err error
			switch {
			case fromConfig && len(args) > 0:
				return errors.New("give either folders or --config, not both")
			case !fromConfig && len(args) == 0:
				return errors.New("nothing to lint: give a kustomization folder (or a repository of them), or --config")
			case fromConfig:
				targets, err = f.configTargets(cmd.Context(), g)
			default:
				targets, err = f.dirTargets(args)
			}
			if err != nil {
				return err
			}
			reports := lintAll(cmd.Context(), targets)
			if err := printData(g, reports, func(w io.Writer) { printLint(w, reports) }); err != nil {
				return err
			}
			for _, r := range reports {
				if r.Error != "" || r.Errors > 0 {
					return exitError{code: 1}
				}
			}
			return nil
		},
	}
	f.register(cmd, "", "lint only this App (with --config)", "lint only on this cluster (with --config)")
	cmd.Flags().StringVar(&f.root, "root", "", "repository root for local folders (default: the enclosing Git work tree, else the folder)")
	return cmd
}

// lintTarget is one render to lint: a folder of a repository, or an App on a cluster.
type lintTarget struct {
	name, app, cluster string
	// namespace is where objects that name none go (the App's spec.namespace).
	namespace string
	render    func(context.Context) (*render.Manifests, error)
	origins   func() map[object.ID]render.Origin
}

// dirTargets are the folders to render: each DIR holding a kustomization, else the
// kustomizations under DIR that none of the others includes.
func (f *lintFlags) dirTargets(dirs []string) ([]lintTarget, error) {
	first, err := filepath.Abs(dirs[0])
	if err != nil {
		return nil, err
	}
	root := f.root
	if root == "" {
		root = repositoryRoot(first)
	}
	if root, err = filepath.Abs(root); err != nil {
		return nil, err
	}
	view, err := tree.FromDir(root, tree.DefaultLimits())
	if err != nil {
		return nil, err
	}
	var targets []lintTarget
	for _, dir := range dirs {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, err
		}
		folders := []string{abs}
		if !hasKustomization(abs) {
			if folders, err = topKustomizations(abs); err != nil {
				return nil, err
			}
			if len(folders) == 0 {
				return nil, fmt.Errorf("%s holds no kustomization", dir)
			}
		}
		for _, folder := range folders {
			rel, err := filepath.Rel(root, folder)
			if err != nil || rel == ".." || filepath.IsAbs(rel) || len(rel) > 2 && rel[:3] == ".."+string(filepath.Separator) {
				return nil, fmt.Errorf("%s is outside the repository %s (name another with --root)", folder, root)
			}
			rel = filepath.ToSlash(rel)
			targets = append(targets, lintTarget{
				name:    rel,
				render:  func(ctx context.Context) (*render.Manifests, error) { return render.Render(ctx, view.Fresh(), rel) },
				origins: func() map[object.ID]render.Origin { return render.Origins(view.Fresh(), rel) },
			})
		}
	}
	return targets, nil
}

// hasKustomization reports whether dir holds a kustomization file.
func hasKustomization(dir string) bool {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return true
		}
	}
	return false
}

// topKustomizations are the folders under dir holding a kustomization that no other one there
// includes (as a resource, base or component): the overlays of a fleet repository, say.
func topKustomizations(dir string) ([]string, error) {
	found := map[string]bool{}
	included := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if path != dir && d.Name()[0] == '.' {
			return filepath.SkipDir
		}
		for _, name := range konfig.RecognizedKustomizationFileNames() {
			b, err := os.ReadFile(filepath.Join(path, name))
			if err != nil {
				continue
			}
			found[path] = true
			var k struct{ Resources, Bases, Components []string }
			if yaml.Unmarshal(b, &k) == nil {
				for _, ref := range slices.Concat(k.Resources, k.Bases, k.Components) {
					included[filepath.Clean(filepath.Join(path, ref))] = true
				}
			}
			break
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []string
	for path := range found {
		if !included[path] {
			out = append(out, path)
		}
	}
	sort.Strings(out)
	return out, nil
}

// configTargets are the configuration's Apps on each cluster they select, narrowed by --app and
// --cluster; each Source is fetched once.
func (f *lintFlags) configTargets(ctx context.Context, g *globals) ([]lintTarget, error) {
	if f.path == "" {
		return nil, errors.New("--app and --cluster go with --config")
	}
	cfg, err := f.load(g)
	if err != nil {
		return nil, err
	}
	fetcher, err := f.fetcher()
	if err != nil {
		return nil, err
	}
	type fetched struct {
		checkout *sources.Checkout
		err      error
	}
	checkouts := map[string]fetched{}
	var targets []lintTarget
	for i := range cfg.Apps {
		app := &cfg.Apps[i]
		if f.app != "" && app.Metadata.Name != f.app {
			continue
		}
		selected, err := policies.SelectClusters(app.Spec.ClusterSelector, cfg.Clusters)
		if err != nil {
			return nil, fmt.Errorf("App/%s: %w", app.Metadata.Name, err)
		}
		for _, cluster := range selected {
			if f.cluster != "" && cluster.Metadata.Name != f.cluster {
				continue
			}
			src, ok := checkouts[app.Spec.Source]
			if !ok {
				src.checkout, src.err = sources.Fetch(ctx, fetcher, cfg.Source(app.Spec.Source), tree.DefaultLimits(), nil)
				checkouts[app.Spec.Source] = src
			}
			t := lintTarget{name: app.Metadata.Name + "/" + cluster.Metadata.Name, app: app.Metadata.Name, cluster: cluster.Metadata.Name, namespace: app.Spec.Namespace}
			if src.err != nil {
				err := src.err
				t.render = func(context.Context) (*render.Manifests, error) { return nil, err }
			} else {
				t.render = func(ctx context.Context) (*render.Manifests, error) { return src.checkout.Render(ctx, app, cluster) }
				t.origins = func() map[object.ID]render.Origin { return src.checkout.Origins(app, cluster) }
			}
			targets = append(targets, t)
		}
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("no App of %s selects a cluster with these flags", f.path)
	}
	return targets, nil
}
