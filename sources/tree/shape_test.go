package tree

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// shapeCases are scanShape's table cases, each with the exact Shape expected. Where the scanner
// counts more than the parser decodes, the case says so; TestScanShapeTable also checks every
// case against the parser.
var shapeCases = []struct {
	name string
	in   string
	want Shape
}{
	{"empty", "", Shape{}},
	{"blank lines and comments", "\n  \n# c\n   # d\n", Shape{}},
	{"scalar", "hello\n", Shape{1, 1, 1, 0}},
	{"mapping", "a: 1\nb: 2\n", Shape{1, 1, 5, 1}},
	{"nested mappings", "a:\n  b:\n    c: d\n", Shape{1, 1, 7, 3}},
	{"documents", "a: 1\n---\nb: 2\n---\nc: 3\n", Shape{3, 3, 9, 1}},
	{"leading and trailing separators", "---\na: 1\n---\n", Shape{2, 1, 4, 1}},
	{"document end markers", "a: 1\n...\n---\nb: [x]\n...\n", Shape{2, 2, 7, 2}},
	{"separator with a comment", "a: 1\n--- # next\nb: 2\n", Shape{2, 2, 6, 1}},
	{"only a comment after a separator", "a: 1\n---\n# nothing\n", Shape{2, 1, 4, 1}},
	{"comments", "# head\na: 1 # trailing\n# between\nb: # empty so far\n  # indented\n  c: 2 #x\n", Shape{1, 1, 7, 2}},
	{"quoted strings that look like structure", "a: \"- b: [c, {d: #e\"\nf: 'x: y # z, ''---'' [{'\n\"g: h\": \"\\\"- [\\\\\"\n", Shape{1, 1, 7, 1}},
	{"quoted strings on several lines", "a: \"line one\n  - two: [\n  three\"\nb: 'x\n  ---\n  {y'\nc: d\n", Shape{1, 1, 7, 1}},
	{"block scalar", "a: |\n  - b: [c\n  ---\n  d: {\n\n  # not a comment\nb: 2\n", Shape{1, 1, 5, 1}},
	{"block scalar indicators", "a: |-\n    x: 1\n    - y\nb: >+2\n    z: [\nc: |2-\n     text\n\n", Shape{1, 1, 7, 1}},
	{"literal block holding YAML", "kind: ConfigMap\ndata:\n  config.yaml: |\n    apiVersion: v1\n    items:\n    - - - deep\n    ---\n    kind: List\n  other: value\n", Shape{1, 1, 9, 2}},
	{"block scalar document", "--- |\n  a: b\n  - c\n---\nd: e\n", Shape{2, 2, 4, 1}},
	{"block scalar in a sequence", "- |\n  a:\n    - b\n- >\n  c\n", Shape{1, 1, 3, 1}},
	{"flow", "a: [b, {c: d, e: [f, g]}, h]\n", Shape{1, 1, 12, 4}},
	{"JSON", `{"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}, "list": [1, 2, [3, {"x": null}]]}`, Shape{1, 1, 18, 4}},
	{"JSON on several lines", "{\n  \"kind\": \"List\",\n  \"items\": [\n    {\"kind\": \"A\"},\n    {\"kind\": \"B\"}\n  ]\n}\n", Shape{1, 2, 11, 3}},
	{"List", "apiVersion: v1\nkind: List\nitems:\n- kind: A\n  metadata: {name: a}\n- kind: B\n  spec:\n    items:\n    - x\n    - y\n", Shape{1, 2, 23, 5}},
	{"List in flow style", `{"kind": "List", "items": [{"kind": "A"}, {"kind": "B"}, {"kind": "C"}]}`, Shape{1, 3, 14, 3}},
	{"kind ending in List", "kind: ConfigMapList\nitems:\n  - kind: ConfigMap\n  - kind: ConfigMap\n", Shape{1, 2, 11, 3}},
	{"List in a List", "kind: List\nitems:\n- kind: List\n  items:\n  - kind: A\n  - kind: B\n  - kind: C\n- kind: D\n", Shape{1, 4, 22, 5}},
	{"List items before kind", "items:\n- a: 1\n- b: 2\nkind: List\n", Shape{1, 2, 11, 3}},
	// Over-counts: an empty List is one object, and a mapping with items is a List whatever its kind.
	{"empty List", "kind: List\nitems: []\n", Shape{1, 1, 5, 2}},
	{"items of another kind", "kind: Foo\nitems: [a, b, c]\n", Shape{1, 3, 8, 2}},
	{"compact nested sequences", "- - - a\n    - b\n  - c\n- d\n", Shape{1, 1, 7, 3}},
	{"compact mappings in sequences", "- a: 1\n  b: 2\n- - c: 3\n    d: [4]\n", Shape{1, 1, 13, 4}},
	{"sequence at its key's indentation", "a:\n- b\n- c: d\ne: f\n", Shape{1, 1, 9, 3}},
	{"plain scalar on several lines", "a: this is\n  - not a list\n  [nor a flow\n  'nor quoted\nb: 'x'\n", Shape{1, 1, 5, 1}},
	{"plain scalar document on several lines", "a\n- b\n[c\n", Shape{1, 1, 1, 0}},
	{"tags, anchors and aliases", "a: &x !!map\n  b: !!str c\nd: *x\ne: !custom [f]\n", Shape{1, 1, 10, 2}},
	{"directives", "%YAML 1.1\n%TAG ! tag:example.com,2000:\n---\na: 1\n", Shape{1, 1, 3, 1}},
	{"CRLF line ends", "a: 1\r\nb:\r\n  - c\r\n", Shape{1, 1, 6, 2}},
	{"Unicode line breaks", "a:\u0085  b: c\u2028d: e\n", Shape{1, 1, 7, 2}},
	{"tabs between tokens", "a:\tb\nc: [d,\te]\n", Shape{1, 1, 7, 2}},
	{"empty values", "a:\nb:\n-\n-\n", Shape{1, 1, 7, 2}},
	{"plain scalars with indicators inside", "a: b:c\nd: -e\nf: ?g\nh: x#y\ni: http://x.y/z?q=1#frag\n", Shape{1, 1, 11, 1}},
	{"flow mapping in a flow sequence", "[a: b, c]\n", Shape{1, 1, 5, 2}},
	{"flow pair with a collection key", "[[a]: b]\n", Shape{1, 1, 5, 3}},
	{"flow collection as a block key", "[a, [b]]: c\n", Shape{1, 1, 6, 3}},
	{"document markers inside scalars", "a: \"x\n  --- y\"\nb: |\n  ---\n  ...\n", Shape{1, 1, 5, 1}},
	// The parser reads "---#" as content, kustomize splits documents there: both are counted.
	{"kustomize separator", "x\n---#\n- - - a\n", Shape{2, 2, 5, 3}},
	// Merged and aliased items, counted without expanding aliases (the parser's Node tree does not).
	{"merge key bringing items", "base: &b\n  items: [x, y, z]\nkind: List\n<<: *b\n", Shape{1, 3, 12, 3}},
	{"merge key without items", "x: &x {a: 1}\n<<: *x\nspec:\n  containers: [a, b, c]\n", Shape{1, 1, 14, 3}},
	{"alias as items", "x: &i [a, b]\nkind: List\nitems: *i\n", Shape{1, 2, 9, 2}},
	// Over-count: an explicit key's value is charged twice.
	{"explicit keys", "? a\n: b\n? [c]\n: d\n", Shape{1, 1, 10, 2}},
	// and the sequences of an object's explicit keys and values count as its items.
	{"explicit keys holding sequences", "? - a\n  - b\n: - c\n  - d\n", Shape{1, 4, 9, 2}},
}

func TestScanShapeTable(t *testing.T) {
	for _, c := range shapeCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := scanShape("case.yaml", []byte(c.in), ShapeLimits{MaxDepth: 200, MaxNodes: 1000, MaxObjects: 100})
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("scanShape = %+v, want %+v", got, c.want)
			}
			if _, ok := decodeShape([]byte(c.in)); !ok {
				t.Errorf("the case is not YAML the parser accepts")
			}
			checkOracle(t, c.name, []byte(c.in))
		})
	}
}

// shapeLimits are limits a render might use.
var shapeLimits = ShapeLimits{MaxDepth: 200, MaxNodes: 1_000_000, MaxObjects: 10_000}

// deepFlow is docs documents, each a flow sequence nested depth deep: "[[[...]]]".
func deepFlow(docs, depth int) []byte {
	doc := "---\n" + strings.Repeat("[", depth) + strings.Repeat("]", depth) + "\n"
	return []byte(strings.Repeat(doc, docs))
}

// deepBlock is docs documents, each a compact block sequence nested depth deep: "- - - x".
func deepBlock(docs, depth int) []byte {
	doc := "---\n" + strings.Repeat("- ", depth) + "x\n"
	return []byte(strings.Repeat(doc, docs))
}

// deepMixed is docs documents nested depth deep, half in block style, half in flow style.
func deepMixed(docs, depth int) []byte {
	doc := "---\n" + strings.Repeat("- ", depth/2) + "k: " + strings.Repeat("{a: [", (depth-depth/2)/2) + strings.Repeat("]}", (depth-depth/2)/2) + "\n"
	return []byte(strings.Repeat(doc, docs))
}

// deepIndented is one document of mappings nested depth deep, each level indented one space
// more than its parent (so such files grow with the square of their depth).
func deepIndented(depth int) []byte {
	var b bytes.Buffer
	for i := 0; i < depth; i++ {
		b.WriteString(strings.Repeat(" ", i))
		b.WriteString("a:\n")
	}
	return b.Bytes()
}

// hugeList is a kind: List of n ConfigMaps, in block style.
func hugeList(n int) []byte {
	return []byte("apiVersion: v1\nkind: List\nitems:\n" + strings.Repeat("- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: cm\n", n))
}

// hugeFlowList is a kind: List of n ConfigMaps, in JSON.
func hugeFlowList(n int) []byte {
	return []byte(`{"apiVersion": "v1", "items": [` + strings.Repeat(`{"kind": "ConfigMap"}, `, n-1) + `{"kind": "ConfigMap"}], "kind": "List"}`)
}

// flatFlow is a flow sequence "[a,a,a,...]" of size bytes.
func flatFlow(size int) []byte {
	return []byte("[" + strings.Repeat("a,", (size-2)/2) + "a]")
}

func TestScanShapeRefusesPathological(t *testing.T) {
	for _, c := range []struct {
		name  string
		data  []byte
		limit string
		max   int
	}{
		{"500 flow documents 9,990 deep", deepFlow(500, 9990), limitShapeDepth, 200},
		{"500 block documents 9,990 deep", deepBlock(500, 9990), limitShapeDepth, 200},
		{"500 mixed documents 9,990 deep", deepMixed(500, 9990), limitShapeDepth, 200},
		{"mappings indented 5,000 deep", deepIndented(5000), limitShapeDepth, 200},
		{"List of 100,000 items", hugeList(100_000), limitShapeObjects, 10_000},
		{"JSON List of 100,000 items", hugeFlowList(100_000), limitShapeObjects, 10_000},
		{"16 MiB flow sequence", flatFlow(16 << 20), limitShapeNodes, 1_000_000},
		{"100,000 documents", []byte(strings.Repeat("---\na: b\n", 100_000)), limitShapeObjects, 10_000},
	} {
		t.Run(c.name, func(t *testing.T) {
			shape, err := scanShape("bad.yaml", c.data, shapeLimits)
			var limit *LimitError
			if !errors.As(err, &limit) {
				t.Fatalf("scanShape = %+v, %v; want a LimitError", shape, err)
			}
			if limit.Path != "bad.yaml" || limit.Limit != c.limit || limit.Max != int64(c.max) || limit.Value != int64(c.max)+1 {
				t.Errorf("got %#v, want %s past %d", limit, c.limit, c.max)
			}
			if c.limit == limitShapeDepth && shape.Documents != 1 {
				t.Errorf("read %d documents before refusing, want 1", shape.Documents)
			}
		})
	}
}

// TestScanShapeUnlimited checks the pathological files' exact shapes, scanned to the end.
func TestScanShapeUnlimited(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		want Shape
	}{
		{"flow", deepFlow(500, 9990), Shape{500, 500, 500 * 9990, 9990}},
		{"block", deepBlock(500, 9990), Shape{500, 500, 500 * 9991, 9990}},
		{"mixed", deepMixed(500, 9990), Shape{500, 500, 500 * (1 + 4995 + 2 + 2497*2 + 2496), 9990}},
		{"indented", deepIndented(5000), Shape{1, 1, 1 + 5000*2, 5000}},
		{"List", hugeList(100_000), Shape{1, 100_000, 1 + 3*2 + 100_000*(1+3*2+2), 4}},
		{"JSON List", hugeFlowList(100_000), Shape{1, 100_000, 1 + 3*2 + 100_000*3, 3}},
		{"flat flow", flatFlow(1 << 20), Shape{1, 1, 1 + 1<<19, 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := scanShape("big.yaml", c.data, ShapeLimits{})
			if err != nil || got != c.want {
				t.Errorf("scanShape = %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
	// Without a MaxDepth, depth is still limited, far above what the parser accepts.
	_, err := scanShape("big.yaml", deepFlow(1, maxShapeDepth+1), ShapeLimits{})
	var limit *LimitError
	if !errors.As(err, &limit) || limit.Limit != limitShapeDepth || limit.Max != maxShapeDepth {
		t.Errorf("nesting past maxShapeDepth: got %v", err)
	}
}

func TestScanShapeLimitEdges(t *testing.T) {
	limits := ShapeLimits{MaxDepth: 3, MaxNodes: 9, MaxObjects: 2}
	for _, c := range []struct {
		in    string
		limit string // "" when the file is within the limits
	}{
		{"a: [[b]]\n", ""},
		{"a: [[[b]]]\n", limitShapeDepth},
		{"[[a: b]]\n", ""},
		{"[[[a: b]]]\n", limitShapeDepth}, // the flow pair is a mapping of its own
		{"[[[a]]: b]\n", limitShapeDepth}, // and so is one found after its key
		{"- - - a\n", ""},
		{"- - - - a\n", limitShapeDepth},
		{"a: 1\nb: 2\nc: 3\nd: 4\n", ""},
		{"a: 1\nb: 2\nc: 3\nd: 4\ne: 5\n", limitShapeNodes},
		{"a\n---\nb\n", ""},
		{"a\n---\nb\n---\nc\n", limitShapeObjects},
		{"kind: List\nitems: [a, b]\n", ""},
		{"kind: List\nitems: [a, b, c]\n", limitShapeObjects},
	} {
		_, err := scanShape("f", []byte(c.in), limits)
		var limit *LimitError
		switch {
		case c.limit == "" && err != nil:
			t.Errorf("%q: %v", c.in, err)
		case c.limit != "" && (!errors.As(err, &limit) || limit.Limit != c.limit):
			t.Errorf("%q: got %v, want a LimitError on %s", c.in, err, c.limit)
		}
	}
}

func TestScanShapeEncodings(t *testing.T) {
	utf16le := []byte{0xFF, 0xFE}
	utf16be := []byte{0xFE, 0xFF}
	for _, r := range "a: [b, \U0001F600]\n" {
		if r > 0xFFFF {
			hi, lo := 0xD800+((r-0x10000)>>10), 0xDC00+((r-0x10000)&0x3FF)
			utf16le = append(utf16le, byte(hi), byte(hi>>8), byte(lo), byte(lo>>8))
			utf16be = append(utf16be, byte(hi>>8), byte(hi), byte(lo>>8), byte(lo))
			continue
		}
		utf16le = append(utf16le, byte(r), byte(r>>8))
		utf16be = append(utf16be, byte(r>>8), byte(r))
	}
	want := Shape{1, 1, 5, 2}
	for name, data := range map[string][]byte{"UTF-8 BOM": []byte("\ufeffa: [b, c]\n"), "UTF-16LE": utf16le, "UTF-16BE": utf16be} {
		if got, err := scanShape(name, data, shapeLimits); err != nil || got != want {
			t.Errorf("%s: scanShape = %+v, %v; want %+v", name, got, err, want)
		}
		checkOracle(t, name, data)
	}
	// The parser skips characters at the start of lines after a byte order mark in the middle.
	_, err := scanShape("bom.yaml", []byte("a: 1\n---\n\ufeffb: 2\n"), shapeLimits)
	var limit *LimitError
	if !errors.As(err, &limit) || limit.Limit != limitShapeBOM || limit.Value != 1 {
		t.Errorf("a byte order mark after the start: got %v, want a LimitError", err)
	}
}

// TestScanShapeKustomizeSplits covers files that kustomize, which splits files into documents
// before parsing them, reads differently from the parser.
func TestScanShapeKustomizeSplits(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Shape
	}{
		// Content to the parser (a plain scalar), a separator to kustomize.
		{"x\n---#\n- - - a\n", Shape{2, 2, 5, 3}},
		// To kustomize, the separator runs to the "\n": the quote is dropped.
		{"a: 1\n--- #\r\"\n[[[[a]]]]\n", Shape{2, 2, 8, 4}},
		// The second line does not follow a "\n" of its own: it is content again.
		{"a\n---#\n---#\n[[b]]\n", Shape{2, 2, 2, 0}},
	} {
		got, err := scanShape("split.yaml", []byte(c.in), shapeLimits)
		if err != nil || got != c.want {
			t.Errorf("%q: scanShape = %+v, %v; want %+v", c.in, got, err, c.want)
		}
		if want, ok := decodeKustomizeShape([]byte(c.in)); !ok || shapeBelow(got, want) {
			t.Errorf("%q: scanned %+v, below kustomize's %+v", c.in, got, want)
		}
	}
}
