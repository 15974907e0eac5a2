package clusters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/kube-openapi/pkg/handler3"
	"k8s.io/kube-openapi/pkg/spec3"

	"github.com/flotilla-dev/flotilla/internal/object"
	"github.com/flotilla-dev/flotilla/sources/render"
)

// Schemas are the OpenAPI v3 schemas a cluster serves, by group-version, as listed at one
// moment. Check validates objects against them the way server-side apply does, so that a sync
// can refuse a render with an invalid object before it applies any of it. A group-version's
// document is fetched and parsed on first use and shared, through the Target's SchemaCache,
// with every cluster that serves the same document: its URL carries a hash of its content.
type Schemas struct {
	target *Target
	// urls maps "apis/apps/v1" (or "api/v1") to the document's server-relative URL.
	urls map[string]string
}

// LoadSchemas lists the group-versions whose schemas the cluster serves: one small request. A
// cluster without OpenAPI v3 (before Kubernetes 1.27) yields empty Schemas, which check nothing;
// the API server still refuses what its schema does not declare.
func (t *Target) LoadSchemas(ctx context.Context) (*Schemas, error) {
	raw, err := t.discovery.RESTClient().Get().AbsPath("/openapi/v3").Do(ctx).Raw()
	if err != nil {
		if apierrors.IsNotFound(err) {
			return &Schemas{target: t}, nil
		}
		return nil, fmt.Errorf("list OpenAPI v3 schemas: %w", err)
	}
	var index handler3.OpenAPIV3Discovery
	if err := json.Unmarshal(raw, &index); err != nil {
		return nil, fmt.Errorf("list OpenAPI v3 schemas: %w", err)
	}
	s := &Schemas{target: t, urls: make(map[string]string, len(index.Paths))}
	for path, gv := range index.Paths {
		s.urls[path] = gv.ServerRelativeURL
	}
	return s, nil
}

// Preload starts fetching and parsing the documents of the group-versions in the background,
// so that a later Check need not wait for them.
func (s *Schemas) Preload(ctx context.Context, gvs ...schema.GroupVersion) {
	for _, gv := range gvs {
		if u, ok := s.urls[gvPath(gv)]; ok {
			go func() { _, _ = s.converter(ctx, u) }()
		}
	}
}

// CheckOptions tune Check.
type CheckOptions struct {
	// FileOf names the repository file an object came from ("" if unknown), for the messages
	// of invalid objects; it is called for those only. Nil names none.
	FileOf func(object.ID) string
	// OriginOf tells where an object came from (a zero Origin if unknown), for the messages of
	// invalid objects, in place of FileOf: a field that a patch set is blamed on the patch's
	// file, with the object's ("overlays/prod/patch.yaml (patch of base/app.yaml)"), each field
	// of an object on its own file. It is called for invalid objects only.
	OriginOf func(object.ID) render.Origin
}

// Check validates every object of the render whose group-version the cluster serves, except
// the kinds that the render's own CRDs define (their new schema is not served until the CRD is
// applied; the API server checks those objects then). It returns one error per invalid object,
// "file: Kind/namespace/name: .field: problem", joined, or an error if a schema cannot be
// loaded. A render found valid against the same schema documents (on another cluster, or in an
// earlier pass) is not checked again.
func (s *Schemas) Check(ctx context.Context, m *render.Manifests, opts CheckOptions) error {
	if s == nil {
		return nil
	}
	defined := render.CRDKinds(m.Objects)
	var checked []*unstructured.Unstructured
	var urls []string
	for _, obj := range m.Objects {
		gvk := obj.GroupVersionKind()
		u, served := s.urls[gvPath(gvk.GroupVersion())]
		if _, ownKind := defined[gvk.GroupKind()]; served && !ownKind {
			checked = append(checked, obj)
			urls = append(urls, u)
		}
	}
	cache := s.target.schemaCache
	key := validKey(m.Digest, urls)
	cache.mu.Lock()
	known := cache.valid[key]
	cache.mu.Unlock()
	if known {
		return nil
	}
	var invalid []error
	for i, obj := range checked {
		tc, err := s.converter(ctx, urls[i])
		if err != nil {
			return err
		}
		if _, err := tc.ObjectToTyped(obj); err != nil {
			invalid = append(invalid, invalidObject(opts, obj, err)...)
		}
	}
	if len(invalid) > 0 {
		return errors.Join(invalid...)
	}
	cache.mu.Lock()
	if len(cache.valid) >= maxValidRenders {
		clear(cache.valid)
	}
	cache.valid[key] = true
	cache.mu.Unlock()
	return nil
}

// invalidObject describes the schema error of obj, "file: Kind/namespace/name: .field:
// problem", as one error per file that the options blame for its fields.
func invalidObject(opts CheckOptions, obj *unstructured.Unstructured, err error) []error {
	err = secretSafe(obj, err)
	id := object.IDOf(obj)
	if opts.OriginOf != nil {
		if origin := opts.OriginOf(id); origin.File != "" {
			return blame(origin, id, err)
		}
	}
	if opts.FileOf != nil {
		if file := opts.FileOf(id); file != "" {
			return []error{fmt.Errorf("%s: %s: %w", file, id, err)}
		}
	}
	return []error{fmt.Errorf("%s: %w", id, err)}
}

// blame names the file that set each field of a schema error (origin.FileOf), and returns one
// error per file, with the fields blamed on it.
func blame(origin render.Origin, id object.ID, err error) []error {
	var files []string
	byFile := map[string][]string{}
	pathless := false
	for _, e := range fieldErrors(err.Error()) {
		field := fieldPath(e)
		pathless = pathless || field == ""
		file := origin.FileOf(field)
		if _, seen := byFile[file]; !seen {
			files = append(files, file)
		}
		byFile[file] = append(byFile[file], e)
	}
	switch {
	case len(files) == 1:
		return []error{fmt.Errorf("%s: %s: %w", files[0], id, err)}
	case len(files) == 0 || pathless: // a message not split safely: the object's own file
		return []error{fmt.Errorf("%s: %s: %w", origin.File, id, err)}
	}
	slices.Sort(files) // the fields come in map order
	out := make([]error, 0, len(files))
	for _, file := range files {
		part := byFile[file][0]
		if len(byFile[file]) > 1 {
			part = "errors:\n  " + strings.Join(byFile[file], "\n  ")
		}
		out = append(out, fmt.Errorf("%s: %s: %w", file, id, &partError{msg: part, err: err}))
	}
	return out
}

// fieldErrors splits the message of a schema error into its errors, each ".field: problem"
// (or a problem without a field): structured-merge-diff lists several after "errors:", one a
// line, indented.
func fieldErrors(msg string) []string {
	list, ok := strings.CutPrefix(msg, "errors:\n")
	if !ok {
		return []string{msg}
	}
	var out []string
	for _, line := range strings.Split(list, "\n") {
		out = append(out, strings.TrimPrefix(line, "  "))
	}
	return out
}

// fieldPath returns the field path that starts an error, ".spec.template.spec.containers[name=
// \"web\"].image" of ".spec.template.spec.containers[name=\"web\"].image: problem", or "".
func fieldPath(e string) string {
	if !strings.HasPrefix(e, ".") && !strings.HasPrefix(e, "[") {
		return ""
	}
	quoted, depth := false, 0
	for i := 0; i < len(e); i++ {
		switch c := e[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '[':
			depth++
		case c == ']':
			depth--
		case c == ':' && depth == 0 && strings.HasPrefix(e[i:], ": "):
			return e[:i]
		}
	}
	return ""
}

// partError is some of the errors of a schema error: errors.As still finds the whole.
type partError struct {
	msg string
	err error
}

func (e *partError) Error() string { return e.msg }
func (e *partError) Unwrap() error { return e.err }

// maxValidRenders bounds the renders remembered as valid.
const maxValidRenders = 1024

// validKey names a render (its digest) checked against a set of schema documents (their URLs,
// which carry a hash of their content).
func validKey(digest string, urls []string) string {
	urls = slices.Clone(urls)
	slices.Sort(urls)
	return digest + "\x00" + strings.Join(slices.Compact(urls), "\x00")
}

// gvPath is the key of a group-version in the OpenAPI v3 index: "api/v1", "apis/apps/v1".
func gvPath(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "api/" + gv.Version
	}
	return "apis/" + gv.Group + "/" + gv.Version
}

// parsedSchema is one OpenAPI v3 document, parsed once.
type parsedSchema struct {
	done      chan struct{}
	converter managedfields.TypeConverter
	err       error
}

// schemaLoadTimeout bounds fetching and parsing one document.
const schemaLoadTimeout = time.Minute

// maxParsedSchemas bounds the documents kept in memory (a few MB each): a fleet of a few
// Kubernetes versions with some CRDs needs a few dozen.
const maxParsedSchemas = 128

// SchemaCache holds parsed OpenAPI documents and the renders found valid against them, for
// the clusters that share it (a Registry's): a document served by several clusters of one
// version is fetched and parsed once.
type SchemaCache struct {
	mu sync.Mutex
	// parsed holds the documents by server-relative URL, which carries a hash of the content.
	parsed map[string]*parsedSchema
	// valid holds the renders found valid, by validKey.
	valid map[string]bool
}

// NewSchemaCache returns an empty cache.
func NewSchemaCache() *SchemaCache {
	return &SchemaCache{parsed: map[string]*parsedSchema{}, valid: map[string]bool{}}
}

// converter returns the type converter of the document at the server-relative URL u, fetching
// and parsing it unless a cluster already did. A failed load is forgotten, to be tried again.
func (s *Schemas) converter(ctx context.Context, u string) (managedfields.TypeConverter, error) {
	cache := s.target.schemaCache
	cache.mu.Lock()
	p, ok := cache.parsed[u]
	if !ok {
		if len(cache.parsed) >= maxParsedSchemas {
			clear(cache.parsed)
		}
		p = &parsedSchema{done: make(chan struct{})}
		cache.parsed[u] = p
		// Shared by every caller: not cancelled with the first one's context, but bounded.
		loadCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), schemaLoadTimeout)
		go func() {
			defer cancel()
			s.parse(loadCtx, u, p)
		}()
	}
	cache.mu.Unlock()
	select {
	case <-p.done:
		return p.converter, p.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *Schemas) parse(ctx context.Context, u string, p *parsedSchema) {
	defer close(p.done)
	p.converter, p.err = s.fetch(ctx, u)
	if p.err != nil {
		cache := s.target.schemaCache
		cache.mu.Lock()
		if cache.parsed[u] == p {
			delete(cache.parsed, u)
		}
		cache.mu.Unlock()
	}
}

func (s *Schemas) fetch(ctx context.Context, u string) (managedfields.TypeConverter, error) {
	loc, err := url.Parse(u)
	if err != nil {
		return nil, fmt.Errorf("OpenAPI v3 schema %s: %w", u, err)
	}
	req := s.target.discovery.RESTClient().Get().AbsPath(loc.Path).SetHeader("Accept", "application/json")
	for k, values := range loc.Query() {
		for _, v := range values {
			req.Param(k, v)
		}
	}
	raw, err := req.Do(ctx).Raw()
	if err != nil {
		return nil, fmt.Errorf("fetch OpenAPI v3 schema %s: %w", loc.Path, err)
	}
	var doc spec3.OpenAPI
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parse OpenAPI v3 schema %s: %w", loc.Path, err)
	}
	if doc.Components == nil {
		return nil, fmt.Errorf("OpenAPI v3 schema %s has no components", loc.Path)
	}
	tc, err := managedfields.NewTypeConverter(doc.Components.Schemas, false)
	if err != nil {
		return nil, fmt.Errorf("OpenAPI v3 schema %s: %w", loc.Path, err)
	}
	return tc, nil
}
