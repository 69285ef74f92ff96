package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestVersionFlag(t *testing.T) {
	out, err := exec.Command(larchBin, "--version").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	want := "larch Version: " + Version + "\netcd API Version: 3.6.6\nGo Version: " + runtime.Version() + "\nGo OS/Arch: " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if string(out) != want {
		t.Fatalf("--version printed %q, want %q", out, want)
	}
}

func TestBadStartRefused(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--heartbeat-interval", "500"}, "--election-timeout[1000ms] should be at least as 5 times as --heartbeat-interval[500ms]"},
		{[]string{"--log-level", "chatty"}, `invalid value "chatty" for --log-level`},
		{[]string{"--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
	} {
		cmd := exec.Command(larchBin, tc.args...)
		cmd.Dir = t.TempDir()
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), tc.want) {
			t.Errorf("%v: exit %v, output %q; want exit 2 and %q", tc.args, err, out, tc.want)
		}
	}
}

func TestSecondProcessOnDataDirRefused(t *testing.T) {
	p := newProcess(t)
	p.start()
	other := newProcess(t)
	other.dataDir = p.dataDir
	other.args = append([]string(nil), other.args...)
	for i, a := range other.args {
		if a == "--data-dir" {
			other.args[i+1] = p.dataDir
		}
	}
	if err := other.launch(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-other.exited:
		other.cmd = nil
		if err == nil || !strings.Contains(other.stderr.String(), "in use by another process") {
			t.Fatalf("second process: %v\n%s", err, other.stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a second larch kept running on the same data dir")
	}
	p.terminate()
}

// TestLogOutputs: --log-outputs sends the structured log to a file (and
// not to stderr); --warning-apply-duration reaches the member.
func TestLogOutputs(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "larch.log")
	p := newProcess(t, "--log-outputs", logFile)
	p.start()
	p.terminate()
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"msg":"serving client traffic"`) || strings.Contains(p.stderr.String(), `"msg":"serving client traffic"`) {
		t.Fatalf("log file:\n%.500s\nstderr:\n%.500s", b, p.stderr.String())
	}
	if fi, err := os.Stat(logFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("log file mode: %v %v", fi.Mode(), err)
	}

	r, _, err := resolveArgs(t, []string{"--warning-apply-duration", "250ms", "--log-outputs", "stdout,stderr"}, nil)
	if err != nil || r.member.WarningApplyDuration != 250*time.Millisecond || len(r.logOutputs) != 2 {
		t.Fatalf("flags: %v %v %v", err, r.member.WarningApplyDuration, r.logOutputs)
	}
	if _, _, err := resolveArgs(t, []string{"--warning-apply-duration", "soon"}, nil); err == nil {
		t.Fatal("a bad --warning-apply-duration was accepted")
	}
}
