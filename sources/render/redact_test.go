package render_test

import (
	"strings"
	"testing"
)

// TestGeneratorErrorsDoNotQuoteValues: kustomize's errors about a bad generator input quote it;
// Flotilla's say what is wrong without the value.
func TestGeneratorErrorsDoNotQuoteValues(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"literal without =", map[string]string{
			"app/kustomization.yaml": "secretGenerator: [{name: db, literals: [hunter2-pin]}]\n",
		}, "a literal is not key=value"},
		{"multi-line literals beside one without =", map[string]string{
			"app/kustomization.yaml": "secretGenerator:\n- name: db\n  literals:\n  - |-\n    key=-----BEGIN hunter2-a\n    hunter2-b\n  - |-\n    hunter2-c\n    hunter2-d\n",
		}, "a literal is not key=value"},
		{"env file line with invalid UTF-8", map[string]string{
			"app/kustomization.yaml": "secretGenerator: [{name: db, envs: [db.env]}]\n",
			"app/db.env":             "PASSWORD=hunter2-\xff\xfe\n",
		}, "a line of an env file has invalid UTF-8"},
	}
	for _, tt := range tests {
		_, err := renderFiles(t, tt.files, "app")
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "104 117 110") {
			t.Errorf("%s: error %v; want one saying %q without the value", tt.name, err, tt.want)
		}
	}
}
