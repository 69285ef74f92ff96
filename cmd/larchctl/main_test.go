package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/larchkv/larch/cmd/larchctl/ctlv3"
)

func TestAPIVersionSelection(t *testing.T) {
	tests := []struct {
		environ []string
		code    int
		stdout  string
		stderr  string
	}{
		// etcdctl 3.5 in v2 mode has no version command.
		{[]string{"ETCDCTL_API=2"}, 3, "", "No help topic for 'version'\n"},
		{[]string{"ETCDCTL_API=2", "ETCDCTL_API=3"}, 3, "", "No help topic for 'version'\n"},
		{nil, 0, "etcdctl version: 3.6.6\nAPI version: 3.6\n", ""},
		{[]string{"ETCDCTL_API=3"}, 0, "etcdctl version: 3.6.6\nAPI version: 3.6\n", ""},
		{[]string{"ETCDCTL_API=3", "ETCDCTL_API=2"}, 0, "etcdctl version: 3.6.6\nAPI version: 3.6\n", ""},
		{[]string{"ETCDCTL_API=1"}, 0, "etcdctl version: 3.6.6\nAPI version: 3.6\n", ""},
	}
	for _, tc := range tests {
		var stdout, stderr bytes.Buffer
		code := run(ctlv3.Env{Args: []string{"version"}, Environ: tc.environ, Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr})
		if code != tc.code || stdout.String() != tc.stdout || stderr.String() != tc.stderr {
			t.Errorf("environ %q: exit %d, stdout %q, stderr %q", tc.environ, code, stdout.String(), stderr.String())
		}
	}
}
