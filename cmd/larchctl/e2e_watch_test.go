package main

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestE2EWatch runs testdata/larchctl/e2e/watch.script, the watch command, against one
// server, as TestE2EV3 does (its golden is made the same way, with -run TestE2EWatch). A
// watch ends only when the server cancels it, when a command it runs fails, or, in
// interactive mode, at the end of stdin: the script's watches end in one of these ways,
// or are killed once they have printed what they are there for (see runLive).
func TestE2EWatch(t *testing.T) {
	runE2E(t, "watch", nil)
}

// A liveAction is one line of a live stdin block: text to write, or an @ action.
type liveAction struct {
	write string
	until string   // @until: the text to wait for
	run   []string // @run: the command to run
	kill  bool     // @kill
	exit  bool     // @exit
	// @signal: the signal to send (SIGINT or SIGTERM), which lock and elect handle
	signal syscall.Signal
	// @await: the text to wait for in the stdout of await, run again until it holds it
	await []string
}

func (a liveAction) String() string {
	switch {
	case a.await != nil:
		return fmt.Sprintf("@await %q ", a.until) + strings.Join(a.await, " ")
	case a.until != "":
		return fmt.Sprintf("@until %q", a.until)
	case a.run != nil:
		return "@run " + strings.Join(a.run, " ")
	case a.kill:
		return "@kill"
	case a.exit:
		return "@exit"
	case a.signal != 0:
		return "@signal " + signalNames[a.signal]
	}
	return fmt.Sprintf("%q", a.write)
}

func parseLiveAction(line string) (liveAction, error) {
	words, err := shellWords(line)
	if err != nil {
		return liveAction{}, err
	}
	switch {
	case words[0] == "@until" && len(words) == 2 && words[1] != "":
		return liveAction{until: words[1]}, nil
	case words[0] == "@run" && len(words) > 1:
		return liveAction{run: words[1:]}, nil
	case words[0] == "@kill" && len(words) == 1:
		return liveAction{kill: true}, nil
	case words[0] == "@exit" && len(words) == 1:
		return liveAction{exit: true}, nil
	case words[0] == "@await" && len(words) > 2 && words[1] != "":
		return liveAction{until: words[1], await: words[2:]}, nil
	case words[0] == "@signal" && len(words) == 2:
		for sig, name := range signalNames {
			if name == words[1] {
				return liveAction{signal: sig}, nil
			}
		}
	}
	return liveAction{}, fmt.Errorf("bad stdin action %q (@until 'text', @run <command>, @await 'text' <command>, @signal INT|TERM, @kill or @exit)", line)
}

// How long runLive waits for an @until text, and for the command to end at an @exit or
// once its stdin is closed. Neither is reached when the output is etcd's: the result then notes it.
const (
	untilTimeout = 5 * time.Second
	endTimeout   = 10 * time.Second
)

// runLive runs a step whose stdin block has actions: it writes the stdin lines and does
// the actions in order, closes stdin, and waits for the command to end. A text that does
// not come, a command that fails to end, or an @run command that fails add an "e2e:" line
// to the stderr shown, and, but for the last, skip the rest of the actions.
func runLive(bin string, env, args []string, vars map[string]string, s step) (result, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return result{}, err
	}
	out := &liveOutput{changed: make(chan struct{}, 1)}
	cmd.Stdout, cmd.Stderr = out.stream(&out.stdout), out.stream(&out.stderr)
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	done := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(done)
	}()

	var notes []string
actions:
	for _, a := range s.live {
		switch {
		case a.until != "" && a.await == nil:
			if note := out.waitFor(a.until, done); note != "" {
				notes = append(notes, fmt.Sprintf("%s: %s", a, note))
				break actions
			}
		case a.run != nil:
			if s.learn != nil {
				s.learn()
			}
			r, err := runStep(bin, env, vars, step{line: s.line, text: a.String(), args: a.run})
			if err != nil || r.code != 0 {
				notes = append(notes, fmt.Sprintf("%s: %v, exit %d: %s", a, err, r.code, bytes.TrimSpace(r.stderr)))
				break actions
			}
		case a.await != nil:
			if s.learn != nil {
				s.learn()
			}
			if note := await(bin, env, vars, s, a); note != "" {
				notes = append(notes, fmt.Sprintf("%s: %s", a, note))
				break actions
			}
		case a.signal != 0:
			cmd.Process.Signal(a.signal)
		case a.kill:
			cmd.Process.Kill()
		case a.exit:
			select {
			case <-done:
			case <-time.After(endTimeout):
				notes = append(notes, fmt.Sprintf("%s: still running after %v", a, endTimeout))
				break actions
			}
		default:
			stdin.Write([]byte(a.write)) // fails only when the command has ended
		}
	}
	stdin.Close()
	select {
	case <-done:
	case <-time.After(endTimeout):
		cmd.Process.Kill()
		<-done
		notes = append(notes, fmt.Sprintf("still running %v after its stdin was closed", endTimeout))
	}

	res := result{stdout: out.stdout.Bytes(), stderr: out.stderr.Bytes()}
	for _, n := range notes {
		res.stderr = append(res.stderr, "e2e: "+n+"\n"...)
	}
	var ee *exec.ExitError
	switch {
	case errors.As(waitErr, &ee):
		res.code = ee.ExitCode() // -1 when killed
	case waitErr != nil:
		return res, waitErr
	}
	return res, nil
}

var signalNames = map[syscall.Signal]string{syscall.SIGINT: "INT", syscall.SIGTERM: "TERM"}

// await runs the command of an @await action again and again, until its stdout holds
// the text: a condition of the server that the live command brings about without
// printing anything (a lock or campaign that waits), polled every awaitPoll.
func await(bin string, env []string, vars map[string]string, s step, a liveAction) string {
	deadline := time.Now().Add(untilTimeout)
	for {
		r, err := runStep(bin, env, vars, step{line: s.line, text: a.String(), args: a.await})
		if err != nil || r.code != 0 {
			return fmt.Sprintf("%v, exit %d: %s", err, r.code, bytes.TrimSpace(r.stderr))
		}
		if bytes.Contains(r.stdout, []byte(a.until)) {
			return ""
		}
		if time.Now().After(deadline) {
			return fmt.Sprintf("not printed within %v; last stdout: %q", untilTimeout, r.stdout)
		}
		time.Sleep(awaitPoll)
	}
}

const awaitPoll = 20 * time.Millisecond

// liveOutput collects the output of a live step and tells a waiter of every write.
type liveOutput struct {
	mu             sync.Mutex // guards stdout and stderr
	stdout, stderr bytes.Buffer
	changed        chan struct{} // one slot: a write since the last look

	// seenOut and seenErr are where the last text found by waitFor ends in each stream:
	// the next is looked for after it.
	seenOut, seenErr int
}

type liveStream struct {
	o   *liveOutput
	buf *bytes.Buffer
}

func (o *liveOutput) stream(buf *bytes.Buffer) liveStream { return liveStream{o, buf} }

func (s liveStream) Write(p []byte) (int, error) {
	s.o.mu.Lock()
	s.buf.Write(p)
	s.o.mu.Unlock()
	select {
	case s.o.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

// find looks for text in stdout, then in stderr, after what it found before, and
// reports whether it is there.
func (o *liveOutput) find(text string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if i := bytes.Index(o.stdout.Bytes()[o.seenOut:], []byte(text)); i >= 0 {
		o.seenOut += i + len(text)
		return true
	}
	if i := bytes.Index(o.stderr.Bytes()[o.seenErr:], []byte(text)); i >= 0 {
		o.seenErr += i + len(text)
		return true
	}
	return false
}

// waitFor waits until stdout or stderr holds text after the texts found before, and
// returns "" then, or why it stopped waiting. done is closed when the command has ended
// and all its output is in.
func (o *liveOutput) waitFor(text string, done <-chan struct{}) string {
	timeout := time.After(untilTimeout)
	for !o.find(text) {
		select {
		case <-o.changed:
		case <-done:
			if o.find(text) {
				return ""
			}
			return "the command ended first"
		case <-timeout:
			return fmt.Sprintf("not printed within %v", untilTimeout)
		}
	}
	return ""
}
