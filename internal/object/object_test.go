package object

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestRedactSecretText(t *testing.T) {
	secret := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "db"},
		"data":       map[string]any{"password": "aHVudGVyMg=="}, // hunter2
		"stringData": map[string]any{"pin": int64(1234), "token": "s3cr3t-token", "short": "ab"},
	}}
	configMap := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "db"},
		"data": map[string]any{"password": "hunter2"},
	}}
	tests := []struct {
		name      string
		obj       *unstructured.Unstructured
		text      string
		want      string
		forbidden []string
	}{
		{"type error prints the value", secret, ".stringData.pin: expected string, got &value.valueUnstructured{Value:1234}\n.stringData.short: expected string, got ab",
			".stringData.pin: expected string, got a value of another type\n.stringData.short: expected string, got a value of another type", []string{"1234", "ab"}},
		{"API error quotes a value", secret, `Secret "db" is invalid: data[password]: Invalid value: "aHVudGVyMg==": decoded "hunter2" and s3cr3t-token`,
			`Secret "db" is invalid: data[password]: Invalid value: "[redacted]": decoded "[redacted]" and [redacted]`, []string{"hunter2", "aHVudGVyMg==", "s3cr3t-token"}},
		{"a multi-line value quoted with %q", &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "tls"},
			"stringData": map[string]any{"tls.key": "-----BEGIN KEY-----\nhunter2\n-----END KEY-----"},
		}}, `Invalid value: "-----BEGIN KEY-----\nhunter2\n-----END KEY-----": bad`, `Invalid value: "[redacted]": bad`, []string{"hunter2"}},
		{"field names stay", secret, ".stringData.token: field not declared in schema", ".stringData.token: field not declared in schema", nil},
		{"not a Secret", configMap, "value hunter2, got 5", "value hunter2, got 5", nil},
	}
	for _, tt := range tests {
		got := RedactSecretText(tt.obj, tt.text)
		if got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
		for _, f := range tt.forbidden {
			if strings.Contains(got, f) {
				t.Errorf("%s: %q still shows %q", tt.name, got, f)
			}
		}
	}
}

// FuzzRedactSecretText: whatever the message, no Secret value of four or more characters is
// left in it (values that occur in the replacement text itself aside).
func FuzzRedactSecretText(f *testing.F) {
	f.Add("hunter2-pin", "s3cr3t", `Invalid value: "hunter2-pin": and s3cr3t, got &value.valueUnstructured{Value:1234}`)
	f.Add("line1\nline2", "a\"b\\c", `"line1\nline2" "a\"b\\c"`)
	f.Fuzz(func(t *testing.T, a, b, text string) {
		secret := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s"},
			"stringData": map[string]any{"a": a, "b": b},
		}}
		got := RedactSecretText(secret, text)
		for _, v := range []string{a, b} {
			if len(v) < 4 || strings.Contains(Redacted+", got a value of another type", v) || strings.Contains(v, "[") {
				continue
			}
			if strings.Contains(got, v) {
				t.Errorf("value %q is still in %q (from %q)", v, got, text)
			}
		}
	})
}

func TestIDString(t *testing.T) {
	for id, want := range map[ID]string{
		{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}: "Deployment.apps/shop/web",
		{Kind: "Namespace", Name: "shop"}:                                   "Namespace/shop",
		{Kind: "ConfigMap", Namespace: "shop", Name: "c"}:                   "ConfigMap/shop/c",
	} {
		if got := id.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", id, got, want)
		}
	}
}
