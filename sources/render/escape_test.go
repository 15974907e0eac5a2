package render

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/flotilla-dev/flotilla/sources/tree"
)

// TestRenderErrorsEscapeControlCharacters: a kustomization that names a file whose name holds
// terminal escape sequences gets kustomize's error with them escaped, readable, and nothing a
// terminal would act on.
func TestRenderErrorsEscapeControlCharacters(t *testing.T) {
	view, err := tree.FromFiles(map[string]string{
		"app/kustomization.yaml": "resources: [\"\\e[31mred\\e]0;pwned\\a\"]\n",
	}, tree.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	_, err = Render(context.Background(), view, "app")
	if err == nil {
		t.Fatal("rendered a kustomization that names a missing file")
	}
	msg := err.Error()
	if i := strings.IndexFunc(msg, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f }); i >= 0 {
		t.Fatalf("the error holds control character %q: %q", msg[i], msg)
	}
	if !strings.Contains(msg, `\x1b[31mred\x1b]0;pwned\a`) {
		t.Errorf("the error does not show the name escaped: %s", msg)
	}
}

// TestEscapeControls: control and format characters and invalid UTF-8 are escaped; text,
// newlines and tabs are kept; errors.As still finds the error underneath.
func TestEscapeControls(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain: été, 日本, tabs\tand\nlines", "plain: été, 日本, tabs\tand\nlines"},
		{"bell\a cr\r esc\x1b del\x7f c1\u009b", `bell\a cr\r esc\x1b del\x7f c1\u009b`},
		{"rtl \u202eoverride, bad \xff\x01byte", `rtl \u202eoverride, bad \xff\x01byte`},
	} {
		if got := escapeControls(errors.New(tt.in)).Error(); got != tt.want {
			t.Errorf("escapeControls(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	limit := &tree.LimitError{Path: "a\x1b.yaml", Limit: "file size in bytes", Value: 2, Max: 1}
	err := escapeControls(fmt.Errorf("render app: %w", limit))
	var got *tree.LimitError
	if !errors.As(err, &got) || got != limit {
		t.Errorf("errors.As through the escaped error: %v", err)
	}
	if strings.Contains(err.Error(), "\x1b") {
		t.Errorf("not escaped: %q", err.Error())
	}
	plain := errors.New("nothing to escape")
	if escapeControls(plain) != plain {
		t.Error("an error without control characters was replaced")
	}
}
