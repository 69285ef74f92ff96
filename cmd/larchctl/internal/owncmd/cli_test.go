package owncmd_test

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/larchkv/larch/cmd/larchctl/ctlv2"
	"github.com/larchkv/larch/cmd/larchctl/ctlv3"
	goldenfile "github.com/larchkv/larch/cmd/larchctl/internal/golden"
)

// TestCLI runs `larchctl pki` in both command sets, in-process, each in a fresh
// working directory, and compares everything with testdata/larchctl/pki/cli.golden.
// etcdctl has no pki command: the golden is larchctl's own output, reviewed like
// code, and rewritten with
//
//	go test ./cmd/larchctl/internal/owncmd -run TestCLI -update
//
// After each command the golden lists what changed in the working directory:
// "+ path mode" for a new file or directory, "~ path mode" for a file rewritten.
// A command without such lines wrote nothing. What varies from run to run
// (serials, times, fingerprints) is replaced by <SERIAL>, <TIME> and <SHA-256>,
// but only where it has the expected form.

var update = flag.Bool("update", false, "rewrite testdata/larchctl/pki/cli.golden")

type cliCase struct {
	args  []string
	stdin string
	only  string // "2" or "3": run in that command set only
}

func w(s string) []string { return strings.Fields(s) }

var cliCases = []cliCase{
	// Help.
	{args: w("pki --help"), only: "3"},
	{args: w("pki -h"), only: "2"},
	{args: w("pki")},
	{args: w("pki ca")},
	{args: w("pki ca init --help")},
	{args: w("pki cert --help")},
	{args: w("pki show --help")},

	// pki ca init: bad command lines and bad input write nothing.
	{args: w("pki ca init")},
	{args: w("pki ca init --dir ca extra")},
	{args: w("pki ca init --dir ca --key-algo dsa")},
	{args: w("pki ca init --dir ca --expiry 0")},
	{args: w("pki ca init --dir ca --expiry -1h")},
	{args: w("pki ca init --dir ca --expiry soon")},
	{args: w("pki ca init --dir ca --bogus")},
	{args: w("pki ca init --dir ca")},
	{args: w("pki show ca/ca.pem")},
	{args: w("pki ca init --dir ca --key-algo rsa")},
	{args: []string{"pki", "ca", "init", "--dir", "ca", "--force", "--key-algo", "rsa", "--cn", "Test CA", "--expiry", "2y"}},
	{args: w("pki show ca/ca.pem")},

	// pki cert: bad command lines and bad input write nothing.
	{args: w("pki cert")},
	{args: w("pki cert --ca-dir ca --cn m1")},
	{args: w("pki cert --ca-dir ca --profile server")},
	{args: w("pki cert --ca-dir ca --profile server --cn m1 extra")},
	{args: w("pki cert --ca-dir ca --profile admin --cn m1")},
	{args: w("pki cert --ca-dir nope --profile server --cn m1")},
	{args: w("pki cert --ca-dir ca --profile server --cn m1 --hosts a,,b")},
	{args: w("pki cert --ca-dir ca --profile server --cn m1 --hosts localhost,")},
	{args: []string{"pki", "cert", "--ca-dir", "ca", "--profile", "server", "--cn", "m1", "--hosts", "a, b"}},
	{args: w("pki cert --ca-dir ca --profile server --cn m1 --hosts host:2379")},
	{args: w("pki cert --ca-dir ca --profile server --cn m1 --hosts 10.0.0.256")},
	{args: w("pki cert --ca-dir ca --profile server --cn m1 --hosts a/b")},
	{args: w("pki cert --ca-dir ca --profile server --cn m1 --key-algo ed25519")},
	{args: w("pki cert --ca-dir ca --profile server --cn m1 --expiry 1x")},
	{args: w("pki cert --ca-dir ca --profile client --cn ../evil")},
	{args: w("pki cert --ca-dir certs --profile client --cn c1")},

	// pki cert: the three profiles.
	{args: w("pki cert --ca-dir ca --profile server --cn s1 --hosts localhost,127.0.0.1,::1 --out-dir certs")},
	{args: w("pki show certs/s1.pem")},
	{args: w("pki cert --ca-dir ca --profile peer --cn m1 --hosts m1.example.com,*.peers.example,10.0.0.1 --key-algo rsa --expiry 90d --out-dir certs")},
	{args: w("pki show certs/m1.pem")},
	{args: w("pki cert --ca-dir ca --profile client --cn root")},
	{args: w("pki show root.pem")},
	{args: w("pki cert --ca-dir ca --profile client --cn root")},
	{args: w("pki cert --ca-dir ca --profile client --cn root --force")},

	// pki show: errors.
	{args: w("pki show")},
	{args: w("pki show a b")},
	{args: w("pki show nope.pem")},
	{args: w("pki show ca/ca-key.pem")},
	{args: w("pki show -"), stdin: "not a certificate"},
}

func TestCLI(t *testing.T) {
	var out bytes.Buffer
	for _, mode := range []string{"3", "2"} {
		fmt.Fprintf(&out, "# ETCDCTL_API=%s\n\n", mode)
		t.Chdir(t.TempDir())
		before := tree(t)
		for _, tc := range cliCases {
			if tc.only != "" && tc.only != mode {
				continue
			}
			var stdout, stderr bytes.Buffer
			var code int
			if mode == "3" {
				code = ctlv3.Run(ctlv3.Env{Args: tc.args, Stdin: strings.NewReader(tc.stdin), Stdout: &stdout, Stderr: &stderr})
			} else {
				code = ctlv2.Run(ctlv2.Env{Args: tc.args, Stdin: strings.NewReader(tc.stdin), Stdout: &stdout, Stderr: &stderr})
			}
			fmt.Fprintf(&out, "$ %q\n", tc.args)
			if tc.stdin != "" {
				fmt.Fprintf(&out, "< %q\n", tc.stdin)
			}
			writeStream(&out, "|", normalize(stdout.Bytes()))
			writeStream(&out, "2|", normalize(stderr.Bytes()))
			fmt.Fprintf(&out, "exit %d\n", code)
			after := tree(t)
			out.WriteString(changes(before, after))
			out.WriteString("\n")
			before = after
		}
	}
	golden := filepath.Join(pkgDir, "..", "..", "..", "..", "testdata", "larchctl", "pki", "cli.golden")
	goldenfile.Check(t, golden, out.Bytes(), *update, "rewrite with -update and review")
}

// pkgDir is the package's directory, the working directory before t.Chdir.
var pkgDir, _ = os.Getwd()

func writeStream(w *bytes.Buffer, prefix string, b []byte) {
	if len(b) == 0 {
		return
	}
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line == "" {
			continue
		}
		if !strings.HasSuffix(line, "\n") {
			line += "⏎\n" // no final newline
		}
		w.WriteString(prefix + " " + line)
	}
}

var (
	reSerial = regexp.MustCompile(`(?m)^(Serial: +)[0-9a-f]{2}(:[0-9a-f]{2}){0,19}$`)
	reTime   = regexp.MustCompile(`(?m)^(Not (?:before|after): +)\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
	reSHA256 = regexp.MustCompile(`(?m)^(SHA-256: +)[0-9A-F]{2}(:[0-9A-F]{2}){31}$`)
)

func normalize(b []byte) []byte {
	b = reSerial.ReplaceAll(b, []byte("${1}<SERIAL>"))
	b = reTime.ReplaceAll(b, []byte("${1}<TIME>"))
	return reSHA256.ReplaceAll(b, []byte("${1}<SHA-256>"))
}

// entry is a file or directory of the working directory: its mode and a hash
// of its contents.
type entry struct {
	mode fs.FileMode
	sum  [32]byte
}

func tree(t *testing.T) map[string]entry {
	t.Helper()
	m := map[string]entry{}
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := entry{mode: info.Mode()}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			e.sum = sha256.Sum256(b)
		}
		m[filepath.ToSlash(p)] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func changes(before, after map[string]entry) string {
	var lines []string
	for p, a := range after {
		b, ok := before[p]
		switch {
		case !ok:
			lines = append(lines, fmt.Sprintf("+ %s %v", p, a.mode))
		case a != b:
			lines = append(lines, fmt.Sprintf("~ %s %v", p, a.mode))
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			lines = append(lines, "- "+p)
		}
	}
	sort.Strings(lines)
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}
