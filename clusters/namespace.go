package clusters

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// recreateNamespace handles a desired Namespace that is still terminating (deleted, its content
// not yet gone): nothing can be created in it, so it waits, up to opts.EstablishTimeout, until
// the Namespace is gone and applies it again.
func (m *Manager) recreateNamespace(ctx context.Context, d *desiredObject, opts ApplyOptions) (Action, string, error) {
	if opts.Progress != nil {
		opts.Progress("%s is terminating; waiting until it is gone to create it again", d.id)
	}
	client := m.target.metadata.Resource(d.mapping.Resource)
	err := pollUntil(ctx, time.Now().Add(opts.EstablishTimeout), 250*time.Millisecond, func() bool {
		ns, err := client.Get(ctx, d.id.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err) || (err == nil && ns.DeletionTimestamp == nil) // gone, or made anew by someone else
	})
	switch {
	case errors.Is(err, errDeadline):
		return ActionFailed, "", fmt.Errorf("still terminating after %s, so nothing can be created in it: kubectl get namespace %s -o yaml shows what holds it (finalizers, conditions)", opts.EstablishTimeout, d.id.Name)
	case err != nil:
		return ActionFailed, "", err
	}
	applied, err := m.target.applyMetadata(ctx, d, false)
	if err != nil {
		return ActionFailed, "", describeApplyError(err)
	}
	return ActionCreated, ownedFields(applied), nil
}
