package config

// Sync windows name IANA time zones (spec.windows[].timeZone); the database is built in, so
// that they load the same on a machine without /usr/share/zoneinfo.
import _ "time/tzdata"
