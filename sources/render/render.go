package render

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"

	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

// Manifests are the objects rendered for one App on one cluster.
type Manifests struct {
	// Path is the kustomization folder, relative to the repository root.
	Path string
	// Objects are in apply order.
	Objects []*unstructured.Unstructured
	// Digest is "sha256:" and the hex SHA-256 of the objects' canonical JSON, one per line, in
	// apply order: the same input gives the same digest on any machine.
	Digest string
}

// Render builds the kustomization in dir (relative to the repository root) from view. Before
// kustomize runs, every kustomization and plugin configuration the render will read is checked
// (tree.FS.CheckKustomizations): remote references are refused, or, for a view that allows
// remote bases, fetched under the view's limits and read from the view, so kustomize itself
// never reaches the network. ctx bounds the fetches and the render: when it ends, Render
// returns at once (kustomize stops at its next read of the view). Control characters in an
// error's message (a repository's file names and kustomize's messages quote what the
// repository holds) are escaped, so that the message is safe to print on a terminal.
func Render(ctx context.Context, view *tree.FS, dir string) (*Manifests, error) {
	m, err := render(ctx, view, dir)
	if err != nil {
		return nil, escapeControls(err)
	}
	return m, nil
}

func render(ctx context.Context, view *tree.FS, dir string) (*Manifests, error) {
	clean := path.Clean("/" + dir)
	if path.IsAbs(dir) || strings.HasPrefix(path.Clean(dir), "..") {
		return nil, fmt.Errorf("kustomization path %q leaves the repository", dir)
	}
	rel := strings.TrimPrefix(clean, "/")
	if rel == "" {
		rel = "."
	}
	if !view.IsDir(clean) {
		return nil, fmt.Errorf("kustomization path %q is not a folder in the repository", rel)
	}
	b := run(ctx, view, clean)
	if b.err != nil && !b.checked {
		return nil, fmt.Errorf("render %s: %w", rel, b.err)
	}
	resources, err := b.resources, b.err
	if refusal := b.view.Refusal(); err != nil && refusal != nil && ctx.Err() == nil {
		err = refusal // the cause, without kustomize's retries and wrapping around it
	}
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", rel, withoutGeneratorValues(err))
	}
	limit := view.Limits().MaxDocuments
	if n := resources.Size(); n > limit {
		return nil, fmt.Errorf("render %s: %w", rel, &tree.LimitError{Path: rel, Limit: "objects in one render", Value: int64(n), Max: int64(limit)})
	}
	objects := make([]*unstructured.Unstructured, 0, resources.Size())
	for _, res := range resources.Resources() {
		// Through JSON, so that numbers are int64 and float64 as client-go expects, not int.
		b, err := res.MarshalJSON()
		obj := &unstructured.Unstructured{}
		if err == nil {
			err = obj.UnmarshalJSON(b)
		}
		if err != nil {
			return nil, fmt.Errorf("render %s: %s: %w", rel, res.CurId(), err)
		}
		objects = append(objects, obj)
	}
	if err := checkObjects(objects); err != nil {
		return nil, fmt.Errorf("render %s: %w", rel, err)
	}
	sortForApply(objects)
	digest, err := Digest(objects)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", rel, err)
	}
	return &Manifests{Path: rel, Objects: objects, Digest: digest}, nil
}

// newKustomizer is kustomize as Flotilla runs it: legacy apply order, files only from the
// kustomization's own folder tree, no plugins.
func newKustomizer() *krusty.Kustomizer {
	return krusty.MakeKustomizer(&krusty.Options{
		Reorder:          krusty.ReorderOptionLegacy,
		LoadRestrictions: types.LoadRestrictionsRootOnly,
		PluginConfig:     types.DisabledPluginConfig(),
	})
}

// built is what run returns: the view kustomize read (with fetched remote content), and its
// result; checked is set once the check and the fetches passed.
type built struct {
	view      *tree.FS
	resources resmap.ResMap
	err       error
	checked   bool
}

// run checks dir and fetches what it names (withRemote), then builds it with kustomize, until
// ctx ends: neither the check nor kustomize has a way to be stopped, so both run on their own
// goroutine, and the view they read refuses every read once the render is abandoned, which
// ends them soon after.
func run(ctx context.Context, view *tree.FS, dir string) built {
	if err := ctx.Err(); err != nil {
		return built{view: view, err: stopped(ctx)}
	}
	// reading is the view the goroutine reads: the one given, then each with fetched content.
	// withRemote stores it before it looks at ctx, so that the view abandoned when ctx ends is
	// the one being read, or one that the goroutine sees ctx end before it reads.
	var reading atomic.Pointer[tree.FS]
	reading.Store(view)
	done := make(chan built, 1)
	go func() {
		view, err := withRemote(ctx, view, dir, reading.Store)
		if err != nil {
			done <- built{view: reading.Load(), err: err}
			return
		}
		resources, err := newKustomizer().Run(view, dir)
		done <- built{view: view, resources: resources, err: err, checked: true}
	}()
	select {
	case b := <-done:
		return b
	case <-ctx.Done():
		view := reading.Load()
		view.Abandon()
		return built{view: view, err: stopped(ctx)}
	}
}

// stopped is the error of a render that ctx ended.
func stopped(ctx context.Context) error {
	return fmt.Errorf("render stopped: %w", context.Cause(ctx))
}

// checkObjects refuses objects without apiVersion, kind or name, and two objects with one ID.
func checkObjects(objects []*unstructured.Unstructured) error {
	seen := map[object.ID]bool{}
	for i, obj := range objects {
		id := object.IDOf(obj)
		switch {
		case obj.GetAPIVersion() == "":
			return fmt.Errorf("object %d (%s): apiVersion is missing", i+1, id)
		case obj.GetKind() == "":
			return fmt.Errorf("object %d (%s): kind is missing", i+1, id)
		case obj.GetName() == "":
			return fmt.Errorf("object %d (%s): metadata.name is missing", i+1, id)
		case seen[id]:
			return fmt.Errorf("%s: defined twice", id)
		}
		seen[id] = true
	}
	return nil
}

// Apply-order groups.
const (
	groupCRD = iota
	groupNamespace
	groupClusterScoped
	groupNamespaced
)

// clusterScoped are the built-in kinds without a namespace.
var clusterScoped = map[schema.GroupKind]bool{}

func init() {
	for group, kinds := range map[string][]string{
		"":                             {"Namespace", "Node", "PersistentVolume", "ComponentStatus"},
		"rbac.authorization.k8s.io":    {"ClusterRole", "ClusterRoleBinding"},
		"storage.k8s.io":               {"StorageClass", "CSIDriver", "CSINode", "VolumeAttachment", "VolumeAttributesClass"},
		"apiextensions.k8s.io":         {"CustomResourceDefinition"},
		"apiregistration.k8s.io":       {"APIService"},
		"scheduling.k8s.io":            {"PriorityClass"},
		"networking.k8s.io":            {"IngressClass", "IPAddress", "ServiceCIDR"},
		"node.k8s.io":                  {"RuntimeClass"},
		"flowcontrol.apiserver.k8s.io": {"FlowSchema", "PriorityLevelConfiguration"},
		"certificates.k8s.io":          {"CertificateSigningRequest", "ClusterTrustBundle"},
		"resource.k8s.io":              {"DeviceClass", "ResourceSlice"},
		"admissionregistration.k8s.io": {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
			"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"},
	} {
		for _, kind := range kinds {
			clusterScoped[schema.GroupKind{Group: group, Kind: kind}] = true
		}
	}
}

// sortForApply orders objects as they must be applied: CRDs, Namespaces, other cluster-scoped
// objects (built-in kinds, and kinds that a CRD of this render declares cluster-scoped), then
// everything else; the order within a group is kept.
func sortForApply(objects []*unstructured.Unstructured) {
	crdScoped := CRDKinds(objects)
	groupOf := func(obj *unstructured.Unstructured) int {
		gk := obj.GroupVersionKind().GroupKind()
		switch {
		case gk == crdKind:
			return groupCRD
		case gk == schema.GroupKind{Kind: "Namespace"}:
			return groupNamespace
		case clusterScoped[gk] || crdScoped[gk]:
			return groupClusterScoped
		}
		return groupNamespaced
	}
	sort.SliceStable(objects, func(i, j int) bool { return groupOf(objects[i]) < groupOf(objects[j]) })
}

// crdKind is the kind of a CustomResourceDefinition.
var crdKind = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}

// CRDKinds returns the kinds that the CustomResourceDefinitions among objects define, each
// with whether it is cluster-scoped.
func CRDKinds(objects []*unstructured.Unstructured) map[schema.GroupKind]bool {
	kinds := map[schema.GroupKind]bool{}
	for _, obj := range objects {
		if obj.GroupVersionKind().GroupKind() != crdKind {
			continue
		}
		group, _, _ := unstructured.NestedString(obj.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(obj.Object, "spec", "names", "kind")
		scope, _, _ := unstructured.NestedString(obj.Object, "spec", "scope")
		kinds[schema.GroupKind{Group: group, Kind: kind}] = scope == "Cluster"
	}
	return kinds
}

// Digest is the sha256 of the objects' canonical JSON (sorted keys), one object per line.
func Digest(objects []*unstructured.Unstructured) (string, error) {
	h := sha256.New()
	for _, obj := range objects {
		b, err := json.Marshal(obj.Object)
		if err != nil {
			return "", fmt.Errorf("%s: %w", object.IDOf(obj), err)
		}
		h.Write(b)
		h.Write([]byte{'\n'})
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
