package config

import (
	"fmt"
	"strings"
)

// inertSetting is a setting that is validated but that nothing acts on yet, with what happens
// instead.
type inertSetting struct {
	field, instead string
	set            func(*Config) []string // the objects that set it, Kind/name
}

// inertSettings lists the settings that the one-shot commands validate but do not act on. Each
// leaves this list when the feature that acts on it lands (spec.rollout was the last: waves
// act in the agent).
var inertSettings = []inertSetting{}

// InertWarnings returns one warning for each setting the configuration writes out that is
// validated but not acted on yet, naming who sets it and what happens instead. Defaults do not
// warn.
func (c *Config) InertWarnings() []string {
	var warnings []string
	for _, s := range inertSettings {
		names := s.set(c)
		if len(names) == 0 {
			continue
		}
		who := strings.Join(names, ", ")
		if len(names) > 3 {
			who = fmt.Sprintf("%s and %d more", strings.Join(names[:3], ", "), len(names)-3)
		}
		warnings = append(warnings, fmt.Sprintf("%s (%s) is not acted on yet: %s", s.field, who, s.instead))
	}
	return warnings
}
