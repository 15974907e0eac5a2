package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/sources"
	"github.com/flotilla-dev/flotilla/sources/render"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

type renderFlags struct {
	configFlags
	root                  string
	revision, showSecrets bool
}

func newRenderCommand(g *globals) *cobra.Command {
	var f renderFlags
	cmd := &cobra.Command{
		Use:   "render [DIR]",
		Short: "Render a kustomization as Flotilla would apply it",
		Long: `Render a kustomization in-process, confined to its repository: no file outside it is
read, no URL is fetched (remote bases only for a Source that sets allowRemoteBases, fetched by
Flotilla under a timeout and byte limits), plugins and exec functions never run, and objects,
YAML nodes, nesting and kustomization loads are bounded before anything is decoded. Objects
come out in apply order (CRDs, Namespaces, cluster-scoped, namespaced). Secret values are
redacted unless --show-secrets.

Either a local folder (the repository root is the enclosing Git work tree, or --root), or an
App for one Cluster from a configuration: the Source is fetched and the App's path template
resolved for the cluster.`,
		Example: `  flotilla render examples/overlays/dev
  flotilla render --config ~/.local/state/flotilla/fleet/flotilla.yaml --app bookinfo --cluster dev --revision
  flotilla render examples/overlays/prod -o json --show-secrets | kubectl apply -f -`,
		Args:        cobra.MaximumNArgs(1),
		Annotations: map[string]string{outputFormats: "yaml,json"},
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := f.render(cmd.Context(), g, args)
			if err != nil {
				return err
			}
			return printManifests(g, m, f.showSecrets)
		},
	}
	f.register(cmd, "", "App to render (with --config)", "Cluster to render the App for (with --config)")
	cmd.Flags().StringVar(&f.root, "root", "", "repository root for a local DIR (default: the enclosing Git work tree, else DIR)")
	cmd.Flags().BoolVar(&f.revision, "revision", false, "print the commit, author and digest on stderr")
	cmd.Flags().BoolVar(&f.showSecrets, "show-secrets", false, "print Secret values instead of redacting them")
	return cmd
}

func (f *renderFlags) render(ctx context.Context, g *globals, args []string) (*render.Manifests, error) {
	fromConfig := f.path != "" || f.app != "" || f.cluster != ""
	switch {
	case fromConfig && len(args) > 0:
		return nil, errors.New("give either DIR or --config with --app and --cluster, not both")
	case fromConfig && (f.path == "" || f.app == "" || f.cluster == ""):
		return nil, errors.New("--config, --app and --cluster go together")
	case !fromConfig && len(args) == 0:
		return nil, errors.New("nothing to render: give a kustomization folder, or --config with --app and --cluster")
	case !fromConfig:
		return f.renderDir(ctx, g, args[0])
	}
	cfg, err := f.load(g)
	if err != nil {
		return nil, err
	}
	app, cluster := cfg.App(f.app), cfg.Cluster(f.cluster) // load checked that both exist
	fetcher, err := f.fetcher()
	if err != nil {
		return nil, err
	}
	checkout, err := sources.Fetch(ctx, fetcher, cfg.Source(app.Spec.Source), tree.DefaultLimits(), nil)
	if err != nil {
		return nil, err
	}
	m, err := checkout.Render(ctx, app, cluster)
	if err != nil {
		return nil, err
	}
	if f.revision {
		rev := checkout.Fetched.Revision
		fmt.Fprintf(g.stderr, "revision:  %s (%s)\nauthor:    %s, %s\nsignature: %s\npath:      %s\ndigest:    %s\n",
			rev.Commit, rev.Ref, rev.Author, rev.Author.When.Format("2006-01-02 15:04:05 MST"), rev.Signature.Status, m.Path, m.Digest)
	}
	return m, nil
}

func (f *renderFlags) renderDir(ctx context.Context, g *globals, dir string) (*render.Manifests, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	root := f.root
	if root == "" {
		root = repositoryRoot(abs)
	}
	if root, err = filepath.Abs(root); err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		return nil, err
	}
	view, err := tree.FromDir(root, tree.DefaultLimits())
	if err != nil {
		return nil, err
	}
	m, err := render.Render(ctx, view, filepath.ToSlash(rel))
	if err != nil && f.root == "" && root == abs {
		return nil, fmt.Errorf("%w\n(no Git work tree encloses %s, so it is the repository root; name a higher one with --root)", err, abs)
	}
	if err != nil {
		return nil, err
	}
	if f.revision {
		fmt.Fprintf(g.stderr, "root:   %s\npath:   %s\ndigest: %s\n", root, m.Path, m.Digest)
	}
	return m, nil
}

// repositoryRoot is the nearest folder at or above dir holding .git, else dir.
func repositoryRoot(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// printManifests writes the objects as a YAML stream, or with -o json as a v1 List.
func printManifests(g *globals, m *render.Manifests, showSecrets bool) error {
	objects := make([]*unstructured.Unstructured, len(m.Objects))
	for i, obj := range m.Objects {
		objects[i] = obj
		if !showSecrets {
			objects[i] = object.RedactSecret(obj)
		}
	}
	if g.output == "json" {
		items := make([]map[string]any, len(objects))
		for i, obj := range objects {
			items[i] = obj.Object
		}
		b, err := json.MarshalIndent(map[string]any{"apiVersion": "v1", "kind": "List", "items": items}, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(g.stdout, "%s\n", b)
		return err
	}
	return writeYAMLStream(g.stdout, objects)
}

func writeYAMLStream(w io.Writer, objects []*unstructured.Unstructured) error {
	for i, obj := range objects {
		b, err := yaml.Marshal(obj.Object)
		if err != nil {
			return fmt.Errorf("%s: %w", object.IDOf(obj), err)
		}
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}
