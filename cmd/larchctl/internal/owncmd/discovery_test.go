package owncmd_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/larchkv/larch/cluster/discovery"
	"github.com/larchkv/larch/cmd/larchctl/ctlv2"
	"github.com/larchkv/larch/cmd/larchctl/ctlv3"
)

func runCtl(mode string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	if mode == "3" {
		code = ctlv3.Run(ctlv3.Env{Args: args, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut})
	} else {
		code = ctlv2.Run(ctlv2.Env{Args: args, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut})
	}
	return code, out.String(), errOut.String()
}

// TestDiscoveryNew: `discovery new` prints a fresh 128-bit token, in both
// command sets; with --size the token carries the size larch reads back.
func TestDiscoveryNew(t *testing.T) {
	bare := regexp.MustCompile(`^[0-9a-f]{32}\n$`)
	sized := regexp.MustCompile(`^7-[0-9a-f]{32}\n$`)
	for _, mode := range []string{"3", "2"} {
		_, a, _ := runCtl(mode, "discovery", "new")
		code, b, errOut := runCtl(mode, "discovery", "new")
		if code != 0 || !bare.MatchString(a) || !bare.MatchString(b) || a == b {
			t.Fatalf("v%s: tokens %q %q (exit %d, %s)", mode, a, b, code, errOut)
		}
		if n := discovery.TokenSize(strings.TrimSpace(a)); n != 0 {
			t.Fatalf("v%s: a token without --size carries size %d", mode, n)
		}
		code, s, errOut := runCtl(mode, "discovery", "new", "--size", "7")
		if code != 0 || !sized.MatchString(s) || discovery.TokenSize(strings.TrimSpace(s)) != 7 {
			t.Fatalf("v%s: --size 7: %q (exit %d, %s)", mode, s, code, errOut)
		}
		for _, bad := range [][]string{{"--size", "0"}, {"--size", "three"}, {"extra"}} {
			code, out, errOut := runCtl(mode, append([]string{"discovery", "new"}, bad...)...)
			if code == 0 || out != "" || !strings.HasPrefix(errOut, "Error: ") {
				t.Fatalf("v%s: discovery new %v: exit %d, %q, %q", mode, bad, code, out, errOut)
			}
		}
	}
}
