package localfleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const (
	// FakeNodeName is the name of the one kwok node in every local cluster.
	FakeNodeName       = "kwok-node"
	kwokNodeAnnotation = "kwok.x-k8s.io/node"
	pollInterval       = 100 * time.Millisecond
)

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// waitFor polls check until it reports true, returns an error, ctx ends or timeout passes. If
// one of procs exits meanwhile, it returns that process's failure with the tail of its log.
func waitFor(ctx context.Context, timeout time.Duration, what string, procs []*runningProcess, check func(context.Context) (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		for _, p := range procs {
			if p.hasExited() {
				return p.failure()
			}
		}
		attemptCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok, err := check(attemptCtx)
		cancel()
		if err != nil {
			return fmt.Errorf("wait for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("%s not ready after %s", what, timeout)
			for _, p := range procs {
				msg += fmt.Sprintf("\nlast lines of %s:\n%s", p.Log, LogTail(p.Log, 10))
			}
			return errors.New(msg)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", what, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// retry calls fn until it succeeds, as waitFor would, and returns its last error if it never
// does.
func retry(ctx context.Context, timeout time.Duration, what string, procs []*runningProcess, fn func(context.Context) error) error {
	var last error
	err := waitFor(ctx, timeout, what, procs, func(ctx context.Context) (bool, error) {
		last = fn(ctx)
		return last == nil, nil
	})
	if err != nil && last != nil {
		return fmt.Errorf("%w; last error: %w", err, last)
	}
	return err
}

// createFakeNode registers the node that kwok keeps Ready and runs pods on, unless it exists.
func createFakeNode(ctx context.Context, client kubernetes.Interface) error {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("64"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("2000"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: FakeNodeName,
			Labels: map[string]string{
				"kubernetes.io/hostname": FakeNodeName,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
				"type":                   "kwok",
			},
			Annotations: map[string]string{kwokNodeAnnotation: "fake", "node.alpha.kubernetes.io/ttl": "0"},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
	if _, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create Node/%s: %w", FakeNodeName, err)
	}
	return nil
}

// parseCRDs decodes the CustomResourceDefinitions of a multi-document YAML stream.
func parseCRDs(manifests []byte) ([]*unstructured.Unstructured, error) {
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifests), 64*1024)
	var crds []*unstructured.Unstructured
	for {
		obj := &unstructured.Unstructured{}
		err := decoder.Decode(&obj.Object)
		if errors.Is(err, io.EOF) {
			return crds, nil
		}
		if err != nil {
			return nil, fmt.Errorf("decode CRD manifest: %w", err)
		}
		if obj.Object != nil && obj.GetKind() == "CustomResourceDefinition" {
			crds = append(crds, obj)
		}
	}
}

// installCRDs creates the CRDs, a few at a time.
func installCRDs(ctx context.Context, config *rest.Config, crds []*unstructured.Unstructured) error {
	if len(crds) == 0 {
		return nil
	}
	client, err := dynamic.NewForConfig(config)
	if err != nil {
		return err
	}
	errs := make([]error, len(crds))
	limit := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, crd := range crds {
		wg.Go(func() {
			limit <- struct{}{}
			defer func() { <-limit }()
			_, err := client.Resource(crdResource).Create(ctx, crd, metav1.CreateOptions{FieldManager: "flotilla-localfleet"})
			if err != nil && !apierrors.IsAlreadyExists(err) {
				errs[i] = fmt.Errorf("create CustomResourceDefinition/%s: %w", crd.GetName(), err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// clusterReadiness checks what Start promises once a cluster is up.
type clusterReadiness struct {
	client kubernetes.Interface
	// pending holds, per group/version of the CRDs, the resources whose API is not served yet.
	pending map[string][]string
}

func newClusterReadiness(client kubernetes.Interface, crds []*unstructured.Unstructured) *clusterReadiness {
	r := &clusterReadiness{client: client, pending: map[string][]string{}}
	for _, crd := range crds {
		group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
		plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
		versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
		for _, v := range versions {
			version, _ := v.(map[string]any)
			if served, _ := version["served"].(bool); served {
				gv := group + "/" + fmt.Sprint(version["name"])
				r.pending[gv] = append(r.pending[gv], plural)
			}
		}
	}
	return r
}

func (r *clusterReadiness) ready(ctx context.Context) (bool, error) {
	node, err := r.client.CoreV1().Nodes().Get(ctx, FakeNodeName, metav1.GetOptions{})
	if err != nil || !nodeReady(node) {
		return false, nil
	}
	// The serviceaccount controller of kube-controller-manager creates it: proof that the
	// controllers run.
	if _, err := r.client.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{}); err != nil {
		return false, nil
	}
	// The API server lists a CRD's resources in discovery only once the CRD is Established.
	// Asking discovery per group/version is far cheaper than listing the CRDs with their large
	// schemas ten times a second.
	for gv, plurals := range r.pending {
		list, err := r.client.Discovery().ServerResourcesForGroupVersion(gv)
		if err != nil {
			return false, nil
		}
		served := map[string]bool{}
		for _, res := range list.APIResources {
			served[res.Name] = true
		}
		for _, plural := range plurals {
			if !served[plural] {
				return false, nil
			}
		}
		delete(r.pending, gv)
	}
	return true, nil
}

func nodeReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
