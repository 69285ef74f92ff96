package ctlv3

import (
	"regexp"
	"testing"
)

// TestDefragUnreachable checks defrag's failure line, which the CLI goldens cannot hold
// since it shows how long the attempt took. etcdctl 3.6.6 printed, with a 1 s timeout:
//
//	Failed to defragment etcd member[127.0.0.1:1]. took 1.001345272s. (context deadline exceeded)
//
// after the client's "retrying of unary invoker failed" log line, and exited 1 without an
// "Error:" line.
func TestDefragUnreachable(t *testing.T) {
	stdout, stderr, code := runInProcess([]string{"defrag", noServer, "--command-timeout=100ms"}, nil, "")
	want := regexp.MustCompile(`^\{"level":"warn",.*"method":"/etcdserverpb.Maintenance/Defragment".*\}\n` +
		`Failed to defragment etcd member\[127\.0\.0\.1:1\]\. took \d+(\.\d+)?(ms|s)\. \(context deadline exceeded\)\n$`)
	if len(stdout) != 0 || !want.Match(stderr) || code != exitError {
		t.Errorf("defrag of an unreachable endpoint: stdout %q, stderr %q, exit %d; want stderr matching %s, exit 1",
			stdout, stderr, code, want)
	}
}
