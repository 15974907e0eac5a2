package config

import (
	"errors"
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"
	"unicode"
)

// MaxPathLength bounds an App's spec.path template and the path it resolves to, in bytes: no
// kustomization folder needs a longer one.
const MaxPathLength = 4096

// maxPathPipeline bounds the commands of one pipeline in a path template, such as
// {{ .Cluster.Labels.env | lower }}.
const maxPathPipeline = 3

// pathHint is what a refused path template construct is told to use instead.
const pathHint = "use field access such as {{ .Cluster.Labels.env }} or index (allowed functions: index, lower, upper)"

// errPathTooLong stops a path template whose output outgrows MaxPathLength.
var errPathTooLong = fmt.Errorf("template output longer than %d bytes", MaxPathLength)

// pathFuncs are the functions a path template may call. index replaces the builtin, which
// would give "" for a label the cluster lacks: a missing label is an error, as with missingkey.
var pathFuncs = template.FuncMap{
	"index": labelIndex,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
}

func labelIndex(labels map[string]string, key string) (string, error) {
	value, ok := labels[key]
	if !ok {
		return "", fmt.Errorf("the cluster has no label %q", key)
	}
	return value, nil
}

// parsePath parses an App's path template and checks that it only inserts the cluster's name and
// labels (field access, index, lower, upper), and that its literal text is a sane relative path.
// Load and PathFor both use it, so that PathFor never executes a template Load would refuse.
func parsePath(text string) (*template.Template, error) {
	if len(text) > MaxPathLength {
		return nil, fmt.Errorf("longer than %d bytes", MaxPathLength)
	}
	tmpl, err := template.New("path").Option("missingkey=error").Funcs(pathFuncs).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("bad template: %w", err)
	}
	if len(tmpl.Templates()) > 1 {
		return nil, errors.New("{{ define }} and {{ block }} are not allowed; " + pathHint)
	}
	if tmpl.Tree == nil {
		return nil, errors.New("is empty")
	}
	if err := checkPathNode(tmpl.Tree.Root); err != nil {
		return nil, err
	}
	// Inserted values (a cluster name, label values) hold no '/' and no control character, so
	// the literal text alone tells whether the path is absolute or climbs out; PathFor checks
	// the resolved path again, since an empty label value can still make "/" or "..".
	if problem := pathProblem(skeleton(tmpl.Tree.Root)); problem != "" {
		return nil, errors.New(problem)
	}
	return tmpl, nil
}

// skeleton is the template's literal text with "x" for each action.
func skeleton(list *parse.ListNode) string {
	var b strings.Builder
	for _, n := range list.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			b.Write(n.Text)
		case *parse.ActionNode:
			b.WriteString("x")
		}
	}
	return b.String()
}

// pathProblem says what is wrong with a resolved kustomization path, or "".
func pathProblem(path string) string {
	switch {
	case path == "":
		return "is empty"
	case strings.IndexFunc(path, unicode.IsControl) >= 0:
		return "holds a control character"
	case strings.HasPrefix(path, "/"):
		return "is absolute; give a folder relative to the repository's root"
	}
	for _, segment := range strings.Split(path, "/") {
		if segment == ".." {
			return `climbs out of the repository with ".."`
		}
	}
	return ""
}

func checkPathNode(node parse.Node) error {
	switch n := node.(type) {
	case *parse.ListNode:
		for _, child := range n.Nodes {
			if err := checkPathNode(child); err != nil {
				return err
			}
		}
		return nil
	case *parse.TextNode, *parse.CommentNode:
		return nil
	case *parse.ActionNode:
		return checkPathPipe(n.Pipe)
	case *parse.IfNode:
		return errors.New("{{ if }} is not allowed; " + pathHint)
	case *parse.RangeNode:
		return errors.New("{{ range }} is not allowed; " + pathHint)
	case *parse.WithNode:
		return errors.New("{{ with }} is not allowed; " + pathHint)
	case *parse.TemplateNode:
		return errors.New("{{ template }} is not allowed; " + pathHint)
	default:
		return fmt.Errorf("%s is not allowed; %s", node, pathHint)
	}
}

func checkPathPipe(pipe *parse.PipeNode) error {
	if len(pipe.Decl) > 0 {
		return fmt.Errorf("variables (%s) are not allowed; %s", pipe.Decl[0].Ident[0], pathHint)
	}
	if len(pipe.Cmds) > maxPathPipeline {
		return fmt.Errorf("a pipeline of %d commands is not allowed (at most %d)", len(pipe.Cmds), maxPathPipeline)
	}
	for i, cmd := range pipe.Cmds {
		if err := checkPathCommand(cmd, i > 0); err != nil {
			return err
		}
	}
	return nil
}

// checkPathCommand checks one command of a pipeline; piped says it receives the value of the
// command before it as its last argument.
func checkPathCommand(cmd *parse.CommandNode, piped bool) error {
	args := cmd.Args[1:]
	ident, isFunction := cmd.Args[0].(*parse.IdentifierNode)
	if !isFunction {
		if len(args) > 0 {
			return fmt.Errorf("%s takes no arguments", cmd.Args[0])
		}
		if piped {
			return fmt.Errorf("%s cannot take a piped value; %s", cmd.Args[0], pathHint)
		}
		return checkPathOperand(cmd.Args[0])
	}
	switch ident.Ident {
	case "index":
		if piped || len(args) != 2 || !isLabelsField(args[0]) || args[1].Type() != parse.NodeString {
			return fmt.Errorf(`index takes .Cluster.Labels and a quoted label key: {{ index .Cluster.Labels "topology.kubernetes.io/region" }}, not %s`, cmd)
		}
		return nil
	case "lower", "upper":
		n := len(args)
		if piped {
			n++
		}
		if n != 1 {
			return fmt.Errorf("%s takes one value: {{ %s .Cluster.Name }} or {{ .Cluster.Name | %s }}, not %s", ident.Ident, ident.Ident, ident.Ident, cmd)
		}
		for _, arg := range args {
			if err := checkPathOperand(arg); err != nil {
				return err
			}
		}
		return nil
	default:
		return fmt.Errorf("function %q is not allowed; %s", ident.Ident, pathHint)
	}
}

// checkPathOperand checks a value: a field of the cluster or a quoted string.
func checkPathOperand(node parse.Node) error {
	switch n := node.(type) {
	case *parse.FieldNode:
		return checkPathField(n)
	case *parse.StringNode:
		return nil
	case *parse.IdentifierNode:
		return fmt.Errorf("function %q is not allowed here; %s", n.Ident, pathHint)
	case *parse.VariableNode:
		return fmt.Errorf("variables (%s) are not allowed; %s", n.Ident[0], pathHint)
	case *parse.DotNode:
		return errors.New("{{ . }} is not allowed; " + pathHint)
	case *parse.PipeNode, *parse.ChainNode:
		return errors.New("parentheses are not allowed; " + pathHint)
	default:
		return fmt.Errorf("%s is not allowed; only quoted label keys and fields of .Cluster can be used", node)
	}
}

// checkPathField accepts .Cluster.Name and .Cluster.Labels.KEY (.Cluster.Labels itself only as
// index's first argument, which checkPathCommand checks).
func checkPathField(f *parse.FieldNode) error {
	id := f.Ident
	if len(id) >= 2 && id[0] == "Cluster" && (id[1] == "Name" && len(id) == 2 || id[1] == "Labels" && len(id) == 3) {
		return nil
	}
	return fmt.Errorf(`field %s is not defined; use .Cluster.Name, .Cluster.Labels.KEY or index .Cluster.Labels "KEY"`, f)
}

func isLabelsField(node parse.Node) bool {
	f, ok := node.(*parse.FieldNode)
	return ok && len(f.Ident) == 2 && f.Ident[0] == "Cluster" && f.Ident[1] == "Labels"
}

// limitedWriter collects a template's output and fails once it outgrows MaxPathLength.
type limitedWriter struct{ b strings.Builder }

func (w *limitedWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > MaxPathLength {
		return 0, errPathTooLong
	}
	return w.b.Write(p)
}
