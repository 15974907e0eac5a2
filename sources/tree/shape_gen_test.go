package tree

import (
	"math/rand"
	"strings"
	"testing"
)

// yamlGen writes random YAML that is mostly valid, rich in the forms scanShape must get right:
// block and flow collections nested in each other, compact sequences, keys of every kind,
// scalars that span lines or look like structure, block scalars with indicators, comments,
// properties and document markers.
type yamlGen struct {
	rng *rand.Rand
	b   strings.Builder
}

// shapeTricky is text that looks like structure.
var shapeTricky = []string{"- a", "b: c", "[d", "{e", "#f", "---", "...", "g, h", "? i", "|", "> j", "&k", "*l", "!m", "%n", "items", "kind: List"}

func (g *yamlGen) pick(s ...string) string { return s[g.rng.Intn(len(s))] }

// scalar writes a scalar; indent is the column continuation lines must pass.
func (g *yamlGen) scalar(indent int, key bool) {
	pad := strings.Repeat(" ", indent+1+g.rng.Intn(2))
	switch g.rng.Intn(8) {
	case 0:
		g.b.WriteString(`"` + strings.ReplaceAll(g.pick(shapeTricky...), `"`, `\"`) + `\" \\ \u0041"`)
	case 1:
		g.b.WriteString("'" + g.pick(shapeTricky...) + " ''quoted'''")
	case 2:
		if !key {
			g.b.WriteString(`"multi` + "\n" + pad + g.pick(shapeTricky...) + "\n" + pad + `line"`)
			return
		}
		g.b.WriteString("k")
	case 3:
		if !key {
			g.b.WriteString("plain\n" + pad + strings.TrimLeft(g.pick(shapeTricky...), "#%") + "\n" + pad + "more")
			return
		}
		g.b.WriteString("a-b")
	case 4:
		g.b.WriteString(g.pick("&a ", "!t ", "!!str ", "&b !!str ") + "v")
	case 5:
		g.b.WriteString(g.pick("items", "kind", "List", "x:y", "-1", "a#b", "~", "<<"))
	default:
		g.b.WriteString(g.pick("a", "b", "c d", "e.f/g", "0.5"))
	}
}

// value writes a node after "key:" or "- " at the given parent indentation.
func (g *yamlGen) value(indent, depth int) {
	r := g.rng.Intn(10)
	switch {
	case depth > 5 || r < 3:
		g.b.WriteString(" ")
		g.scalar(indent, false)
		g.b.WriteString(g.pick("", "", " # c"))
		g.b.WriteString("\n")
	case r < 5:
		g.b.WriteString(" ")
		g.flow(depth, false)
		g.b.WriteString("\n")
	case r < 6:
		g.b.WriteString(g.pick(" |", " >", " |-", " >+", " |2", " >-1", " |+ # c") + "\n")
		pad := strings.Repeat(" ", indent+2)
		for i := g.rng.Intn(4); i >= 0; i-- {
			g.b.WriteString(pad + g.pick(shapeTricky...) + g.pick("", "\n", "\n  ") + "\n")
		}
	default:
		g.b.WriteString(g.pick("", " # c", " &a", " !!map") + "\n")
		g.block(indent+1+g.rng.Intn(3), depth+1)
	}
}

// block writes a block collection at column indent.
func (g *yamlGen) block(indent, depth int) {
	g.collection(indent, depth, false)
}

// collection writes a block collection at column indent, compact (its first entry on the line of
// a "- ") if asked.
func (g *yamlGen) collection(indent, depth int, compact bool) {
	var pad string
	seq := g.rng.Intn(2) == 0
	for i := g.rng.Intn(3); i >= 0; i, compact = i-1, false {
		if compact {
			pad = ""
		} else {
			pad = strings.Repeat(" ", indent)
			if g.rng.Intn(6) == 0 {
				g.b.WriteString(pad + "# comment\n")
			}
		}
		if seq {
			g.b.WriteString(pad + "-")
			if g.rng.Intn(4) == 0 && depth < 6 { // compact
				g.b.WriteString(" ")
				g.collection(indent+2, depth+1, true)
				continue
			}
			g.value(indent, depth)
			continue
		}
		g.b.WriteString(pad)
		switch g.rng.Intn(8) {
		case 0:
			g.flow(depth+1, true)
		case 1:
			g.b.WriteString("? ")
			g.scalar(indent, true)
			g.b.WriteString("\n" + strings.Repeat(" ", indent))
		default:
			g.scalar(indent, true)
		}
		g.b.WriteString(":")
		if g.rng.Intn(3) == 0 && depth < 6 { // a sequence at its key's indentation
			g.b.WriteString("\n")
			for j := g.rng.Intn(2); j >= 0; j-- {
				g.b.WriteString(strings.Repeat(" ", indent) + "-")
				g.value(indent, depth+1)
			}
			continue
		}
		g.value(indent, depth)
	}
}

// flow writes a flow collection, on one line if it is a key.
func (g *yamlGen) flow(depth int, key bool) {
	breaks := func(s ...string) string {
		if key {
			return strings.TrimRight(g.pick(s...), "\n ")
		}
		return g.pick(s...)
	}
	seq := g.rng.Intn(2) == 0
	g.b.WriteString(map[bool]string{true: "[", false: "{"}[seq])
	for i := g.rng.Intn(4) - 1; i >= 0; i-- {
		if depth < 6 && g.rng.Intn(3) == 0 {
			g.flow(depth+1, key)
		} else {
			g.scalar(0, true)
		}
		if !seq || g.rng.Intn(4) == 0 {
			g.b.WriteString(breaks(": ", ":", ": \n  "))
			if depth < 6 && g.rng.Intn(3) == 0 {
				g.flow(depth+1, key)
			} else {
				g.scalar(0, true)
			}
		}
		if i > 0 {
			g.b.WriteString(breaks(", ", ",", ",\n  ", " ,"))
		}
	}
	g.b.WriteString(map[bool]string{true: "]", false: "}"}[seq])
}

// stream writes a stream of one to three documents.
func (g *yamlGen) stream() string {
	g.b.Reset()
	for i := g.rng.Intn(3); i >= 0; i-- {
		g.b.WriteString(g.pick("", "---\n", "--- # c\n", "# c\n---\n", "---#c\n"))
		switch g.rng.Intn(6) {
		case 0:
			g.flow(0, false)
			g.b.WriteString("\n")
		case 1:
			g.b.WriteString("kind: List\nitems:\n")
			g.block(g.rng.Intn(2)*2, 1)
		default:
			g.block(0, 0)
		}
		g.b.WriteString(g.pick("", "", "...\n"))
	}
	return g.b.String()
}

// TestScanShapeGenerated checks the scanner against the parser on generated YAML.
func TestScanShapeGenerated(t *testing.T) {
	g := &yamlGen{rng: rand.New(rand.NewSource(1))}
	n := 20_000
	if testing.Short() {
		n = 2_000
	}
	valid := 0
	for i := 0; i < n; i++ {
		doc := g.stream()
		if _, ok := decodeShape([]byte(doc)); ok {
			valid++
		}
		checkOracle(t, "generated", []byte(doc))
		if t.Failed() {
			return
		}
	}
	if valid < n/4 {
		t.Errorf("only %d of %d generated files are valid YAML", valid, n)
	}
	t.Logf("%d of %d generated files are valid YAML", valid, n)
}
