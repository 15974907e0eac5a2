package config

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a time.Duration written as a Go duration string: "30s", "5m", "1h30m".
type Duration struct{ time.Duration }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"30s\" or \"5m\": %w", err)
	}
	parsed, err := parseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = parsed
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as \"30s\", \"5m\" or \"1h\"", brief(s))
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", brief(s))
	}
	return d, nil
}

// validateScalar lets the strict decoder check a duration where it has the line number.
func (Duration) validateScalar(s string) error {
	_, err := parseDuration(s)
	return err
}
