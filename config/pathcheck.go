package config

import (
	"fmt"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// maxListed bounds the names a message lists (clusters, label keys) before "…".
const maxListed = 10

// pathLabelKeys lists the label keys a parsed path template reads, in order of first use:
// .Cluster.Labels.KEY and index .Cluster.Labels "KEY" (parsePath allows no other way).
func pathLabelKeys(tmpl *template.Template) []string {
	var keys []string
	seen := map[string]bool{}
	add := func(key string) {
		if !seen[key] {
			seen[key] = true
			keys = append(keys, key)
		}
	}
	for _, node := range tmpl.Tree.Root.Nodes {
		action, ok := node.(*parse.ActionNode)
		if !ok {
			continue
		}
		for _, cmd := range action.Pipe.Cmds {
			if ident, ok := cmd.Args[0].(*parse.IdentifierNode); ok && ident.Ident == "index" && len(cmd.Args) == 3 {
				if key, ok := cmd.Args[2].(*parse.StringNode); ok {
					add(key.Text)
				}
				continue
			}
			for _, arg := range cmd.Args {
				if f, ok := arg.(*parse.FieldNode); ok && len(f.Ident) == 3 && f.Ident[0] == "Cluster" && f.Ident[1] == "Labels" {
					add(f.Ident[2])
				}
			}
		}
	}
	return keys
}

// missingLabel is the first label key of keys that the labels lack, or "".
func missingLabel(keys []string, have map[string]string) string {
	for _, key := range keys {
		if _, ok := have[key]; !ok {
			return key
		}
	}
	return ""
}

// checkPathForClusters resolves a valid path template for every Cluster the App selects, so that
// a label key no selected Cluster has (a typo: {{ .Cluster.Labels.evn }}) or a path that resolves
// outside the repository is reported by Load, at the App's spec.path, rather than by a render.
func (a *AppSpec) checkPathForClusters(p objectProblems, clusters []Cluster) {
	tmpl, err := parsePath(a.Path)
	if err != nil {
		return // reported already
	}
	sel, err := metav1.LabelSelectorAsSelector(&a.ClusterSelector)
	if err != nil {
		return // reported already
	}
	keys := pathLabelKeys(tmpl)
	lacking := map[string][]*Cluster{} // missing label key → clusters
	var order []string
	for i := range clusters {
		c := &clusters[i]
		if !sel.Matches(labels.Set(c.Metadata.Labels)) {
			continue
		}
		if key := missingLabel(keys, c.Metadata.Labels); key != "" {
			if lacking[key] == nil {
				order = append(order, key)
			}
			lacking[key] = append(lacking[key], c)
			continue
		}
		if _, err := resolvePath(tmpl, c); err != nil {
			p.add("spec.path", "for Cluster/%s (%s): %v; change the template or the Cluster's labels", c.Metadata.Name, clusterLine(c, p.origin.File), err)
		}
	}
	for _, key := range order {
		p.add("spec.path", "%s", missingLabelMessage(key, lacking[key], p.origin.File))
	}
}

// missingLabelMessage says which selected clusters lack a label the path template reads, which
// labels they have instead, and the likely intended key.
func missingLabelMessage(key string, lacking []*Cluster, appFile string) string {
	names := make([]string, len(lacking))
	have := map[string]bool{}
	for i, c := range lacking {
		names[i] = fmt.Sprintf("Cluster/%s (%s)", c.Metadata.Name, clusterLine(c, appFile))
		for k := range c.Metadata.Labels {
			have[k] = true
		}
	}
	var keys []string
	for k := range have {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	msg := fmt.Sprintf("label %q is not set on the selected %s", key, names[0])
	switch {
	case len(names) > 1:
		msg = fmt.Sprintf("label %q is not set on %d selected clusters: %s; labels they have: ", key, len(names), listNames(names))
	default:
		msg += "; its labels: "
	}
	if len(keys) == 0 {
		keys = []string{"none"}
	}
	msg += listNames(keys)
	if guess := closest(key, keys); guess != "" {
		return msg + fmt.Sprintf(`; did you mean %q? Fix the key in spec.path, or add the label to the Cluster`, guess)
	}
	return msg + "; fix the key in spec.path, or add the label to the Cluster"
}

// clusterLine is where a Cluster's labels are written: "line N" in the App's own file, else
// file:line.
func clusterLine(c *Cluster, appFile string) string {
	line := c.Origin.LineOf("metadata.labels")
	if c.Origin.File == appFile {
		return fmt.Sprintf("line %d", line)
	}
	return fmt.Sprintf("%s:%d", c.Origin.File, line)
}

// listNames joins up to maxListed names, then "…".
func listNames(names []string) string {
	if len(names) > maxListed {
		return strings.Join(names[:maxListed], ", ") + ", …"
	}
	return strings.Join(names, ", ")
}

// closest is the candidate within two edits of s (the nearest, the first in order on a tie),
// or "".
func closest(s string, candidates []string) string {
	best, bestDistance := "", 3
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestDistance {
			best, bestDistance = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, in bytes; label keys are ASCII.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b)) // not worth comparing
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
