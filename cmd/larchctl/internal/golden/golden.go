// Package golden holds what the CLI's golden-file tests share.
package golden

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
)

// LineDiff lists the first ten differing lines of two outputs.
func LineDiff(want, got []byte) string {
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %q\n   got %q\n", i+1, wl, gl)
			if shown++; shown == 10 {
				b.WriteString("…\n")
				break
			}
		}
	}
	return b.String()
}

// Check compares got with the golden file at path, or, with update,
// rewrites the file; source says where the golden comes from, for the
// failure message.
func Check(t testing.TB, path string, got []byte, update bool, source string) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (%s):\n%s", path, source, LineDiff(want, got))
	}
}
