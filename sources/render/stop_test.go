package render_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/sources/render"
	"github.com/flotilla-dev/flotilla/sources/tree"
)

// slowCheck is a repository whose check, before kustomize runs, reads and decodes many large
// kustomizations: app names folders of kustomizations with many labels each.
func slowCheck(folders int) (map[string]string, int64) {
	var labels strings.Builder
	labels.WriteString("commonLabels:\n")
	for i := range 5_000 {
		fmt.Fprintf(&labels, "  label-%d: value-%d\n", i, i)
	}
	body := labels.String()
	files := map[string]string{}
	var names []string
	total := int64(0)
	for i := range folders {
		name := fmt.Sprintf("d%d", i)
		names = append(names, "../"+name)
		files[name+"/kustomization.yaml"] = body
		total += int64(len(body))
	}
	files["app/kustomization.yaml"] = "resources: [" + strings.Join(names, ", ") + "]\n"
	return files, total + int64(len(files["app/kustomization.yaml"]))
}

// TestRenderStopsDuringTheCheck: a render whose context ends while the check before kustomize
// is still reading returns "render stopped" at once, and the check reads nothing more.
func TestRenderStopsDuringTheCheck(t *testing.T) {
	files, total := slowCheck(150) // 1,500,000 YAML nodes: under the limit
	limits := tree.DefaultLimits()
	limits.MaxKustomizations = 10_000
	view, err := tree.FromFiles(files, limits)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := render.Render(ctx, view, "app")
		done <- err
	}()
	// Wait until the check has read a few folders, then stop the render.
	deadline := time.Now().Add(time.Minute)
	for view.Stats().BytesRead < total/20 {
		if time.Now().After(deadline) {
			t.Fatal("the check never got going")
		}
		select {
		case err := <-done:
			t.Fatalf("the render ended before it was stopped: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "render stopped: context canceled") {
			t.Fatalf("err = %v, want the render stopped", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the render still runs 10 s after it was stopped")
	}
	if read := view.Stats().BytesRead; read >= total {
		t.Errorf("the check read all %d bytes after the render was stopped", read)
	}
}
