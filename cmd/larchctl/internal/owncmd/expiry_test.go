package owncmd

import (
	"testing"
	"time"
)

func TestParseExpiry(t *testing.T) {
	const day, year = 24 * time.Hour, 365 * 24 * time.Hour
	for s, want := range map[string]time.Duration{
		"8760h": year, "90m": 90 * time.Minute, "1h30m": 90 * time.Minute,
		"90d": 90 * day, "1d": day, "5y": 5 * year, "292y": 292 * year,
	} {
		if got, err := parseExpiry(s); err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "0", "0d", "-1h", "-1d", "d", "y", "1.5d", "+1d", "1 d", "soon", "1x", "293y", "99999999999999999999d"} {
		if d, err := parseExpiry(s); err == nil {
			t.Errorf("%q: %v, want an error", s, d)
		}
	}
}
