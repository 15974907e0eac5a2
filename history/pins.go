package history

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"fmt"
)

// Pin keeps app on cluster at the revision a rollback restored (see Pin), sealed.
func (l *Ledger) Pin(ctx context.Context, pin Pin) error {
	if pin.Since.IsZero() {
		pin.Since = l.now().UTC()
	}
	pin.Seal = l.sealPin(pin)
	return l.store.SetPin(ctx, pin.App, pin.Cluster, &pin)
}

// sealPin is the pin's seal: over its JSON without the seal.
func (l *Ledger) sealPin(pin Pin) string {
	pin.Seal = ""
	text, _ := json.Marshal(pin)
	return l.keys.sign("pin", string(text))
}

// checkPins refuses pins whose seal does not match.
func (l *Ledger) checkPins(pins []Pin) error {
	for _, p := range pins {
		if !hmac.Equal([]byte(l.sealPin(p)), []byte(p.Seal)) {
			return fmt.Errorf("pin of %s on %s: %w (remove it: DELETE FROM pins, then roll back again if needed)", p.App, p.Cluster, ErrTampered)
		}
	}
	return nil
}

// Unpin lets app on cluster follow its Source again.
func (l *Ledger) Unpin(ctx context.Context, app, cluster string) error {
	return l.store.SetPin(ctx, app, cluster, nil)
}

// Pins returns every pin; an error when one is not sealed by this ledger.
func (l *Ledger) Pins(ctx context.Context) ([]Pin, error) {
	pins, err := l.store.Pins(ctx)
	if err != nil {
		return nil, err
	}
	return pins, l.checkPins(pins)
}

// PinOf returns app's pin on cluster, nil when it is not pinned.
func (l *Ledger) PinOf(ctx context.Context, app, cluster string) (*Pin, error) {
	pins, err := l.store.Pins(ctx)
	if err != nil {
		return nil, err
	}
	for i := range pins {
		if pins[i].App == app && pins[i].Cluster == cluster {
			if err := l.checkPins(pins[i : i+1]); err != nil {
				return nil, err
			}
			return &pins[i], nil
		}
	}
	return nil, nil
}

// Applied are the results of changes that applied a revision whole.
var Applied = []Result{"Synced", "Healthy", "Progressing", "Degraded"}
