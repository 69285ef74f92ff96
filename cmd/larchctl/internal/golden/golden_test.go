package golden

import (
	"strings"
	"testing"
)

func TestLineDiff(t *testing.T) {
	if d := LineDiff([]byte("a\nb\n"), []byte("a\nb\n")); d != "" {
		t.Fatalf("equal outputs: %q", d)
	}
	d := LineDiff([]byte("a\nb"), []byte("a\nc\nd"))
	if !strings.Contains(d, `line 2:`) || !strings.Contains(d, `want "b"`) || !strings.Contains(d, `got "d"`) {
		t.Fatalf("diff %q", d)
	}
}
